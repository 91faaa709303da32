import Foundation
import ZeroMQ

/// The in-process exchange mirrored by `transport_c.c`: an echo ROUTER thread, a DEALER client
/// on the calling thread, small round trips for latency and large zero-copy round trips for
/// bandwidth, all through the ZeroMQ module.
struct LocalBenchmark {
    enum Transport: String {
        case ipc, tcp

        var bindEndpoint: String {
            switch self {
            case .ipc: "ipc://\(NSTemporaryDirectory())lomad-bench-swift-\(ProcessInfo.processInfo.processIdentifier).ipc"
            case .tcp: "tcp://127.0.0.1:*"
            }
        }
    }

    struct WrongReply: Error, CustomStringConvertible {
        let bytes: Int
        let expected: Int
        var description: String { "reply of \(bytes) bytes, expected \(expected)" }
    }

    let transport: Transport
    let smallBytes: Int
    let smallRoundTrips: Int
    let largeBytes: Int
    let largeRoundTrips: Int

    /// Runs both measurements and returns the `key=value` line run.sh reads.
    func run() throws -> String {
        let context = try ZMQContext()
        let server = try EchoServer(context: context, bindEndpoint: transport.bindEndpoint)
        let client = try RoundTripClient(context: context, endpoint: server.endpoint)

        let (small, smallCPU) = try measure(client, bytes: smallBytes, roundTrips: smallRoundTrips,
                                            warmup: smallRoundTrips / 10 + 1)
        let (large, _) = try measure(client, bytes: largeBytes, roundTrips: largeRoundTrips, warmup: 1)

        client.close()
        context.terminate()
        server.waitUntilStopped()
        if transport == .ipc, let path = server.endpoint.split(separator: "://").last {
            unlink(String(path))  // libzmq 4.3 leaves the socket file behind
        }

        let latency = LatencySummary(samples: small)
        let largeSeconds = LatencySummary.microseconds(large.reduce(.zero, +)) / 1e6
        let gigabytesPerSecond = 2 * Double(largeBytes) * Double(largeRoundTrips) / largeSeconds / 1e9
        return "impl=swift transport=\(transport.rawValue) "
            + String(format: "small_p50_us=%.2f small_p99_us=%.2f small_cpu_us=%.2f large_gbps=%.3f",
                     latency.p50Microseconds, latency.p99Microseconds,
                     LatencySummary.microseconds(smallCPU) / Double(max(smallRoundTrips, 1)), gigabytesPerSecond)
    }

    /// Round trips of one zero-copy frame of `bytes` bytes, after `warmup` untimed ones: the
    /// duration of each, and the process CPU time of the timed ones together.
    private func measure(
        _ client: RoundTripClient, bytes: Int, roundTrips: Int, warmup: Int
    ) throws -> (samples: [Duration], cpu: Duration) {
        let payload = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
        defer { payload.deallocate() }
        payload.initializeMemory(as: UInt8.self, repeating: 7)
        let request = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(payload)[0..<bytes])
        // The buffer outlives every round trip (each waits for its reply), so nothing to release.
        let makeRequest: (Int) throws -> [ZMQFrame] = { _ in [try ZMQFrame(noCopy: request, release: {})] }
        let checkReply: ([ZMQFrame]) throws -> Void = { reply in
            let received = reply.reduce(0) { $0 + $1.count }
            guard reply.count == 1, received == bytes else { throw WrongReply(bytes: received, expected: bytes) }
        }
        _ = try client.measure(roundTrips: warmup, makeRequest: makeRequest, checkReply: checkReply)
        return try ProcessCPUTime.measure {
            try client.measure(roundTrips: roundTrips, makeRequest: makeRequest, checkReply: checkReply)
        }
    }
}
