import Foundation
import ZeroMQ

/// Transport benchmark for the ZeroMQ module; see Benchmarks/transport/run.sh, which runs it
/// beside the plain C baseline and prints the ratios.
func runBench() throws {
    switch try BenchCommand(arguments: Array(CommandLine.arguments.dropFirst())) {
    case .local(let benchmark):
        print(try benchmark.run())
    case .echo(let bindEndpoint):
        let context = try ZMQContext()
        let server = try EchoServer(context: context, bindEndpoint: bindEndpoint)
        // Unbuffered, so a script reading the endpoint sees it before the echo loop starts.
        FileHandle.standardOutput.write(Data("listening=\(server.endpoint)\n".utf8))
        while readLine() != nil {}
        context.terminate()
        server.waitUntilStopped()
    case .client(let endpoint, let requestFrames, let requests, let warmup):
        let context = try ZMQContext()
        let client = try RoundTripClient(context: context, endpoint: endpoint)
        let makeRequest: (Int) throws -> [ZMQFrame] = { _ in requestFrames.map { ZMQFrame(bytes: $0) } }
        let anyReply: ([ZMQFrame]) throws -> Void = { _ in }
        _ = try client.measure(roundTrips: warmup, makeRequest: makeRequest, checkReply: anyReply)
        let latency = LatencySummary(samples: try client.measure(roundTrips: requests, makeRequest: makeRequest,
                                                                 checkReply: anyReply))
        client.close()
        context.terminate()
        print("impl=swift-client endpoint=\(endpoint) requests=\(requests) "
              + String(format: "p50_us=%.2f p99_us=%.2f", latency.p50Microseconds, latency.p99Microseconds))
    }
}

do {
    try runBench()
} catch {
    FileHandle.standardError.write(Data("transport-bench: \(error)\n".utf8))
    exit(1)
}
