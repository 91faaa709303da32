import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Testing

@Suite("lomad serve as a real process")
struct DaemonLifecycleTests {
    @Test("health over ipc and tcp through the Swift client")
    func healthOverIPCAndTCP() async throws {
        let ipc = "ipc://\(try TemporaryDirectory("lomad-ep").url.path)/d.sock"
        let daemon = try DaemonProcess(endpoints: [ipc, "tcp://127.0.0.1:*"])
        #expect(daemon.endpoints.count == 2)
        for endpoint in daemon.endpoints {
            let client = try LoMAClient(endpoint: try Endpoint(endpoint), timeout: .seconds(10))
            let health = try await client.health()
            #expect(health.protocolVersion == ProtocolVersion.current)
            #expect(!health.version.isEmpty)
            #expect(health.limits.workers == 2)
            #expect(health.limits.queueDepth == 64)
        }
        #expect(daemon.endpoints.contains { $0.hasPrefix("tcp://127.0.0.1:") && !$0.hasSuffix(":*") })
    }

    @Test("stats count requests by operation and status")
    func statsCountRequests() async throws {
        let daemon = try DaemonProcess()
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(10))
        for _ in 0..<3 { _ = try await client.health() }
        await #expect(throws: StatusError.self) { try await client.send(.readMemory(Loma_V1_ReadMemoryRequest())) }
        let stats = try await client.stats()
        let health = try #require(stats.operations.first { $0.operation == "health" })
        #expect(health.statuses.first { $0.code == .ok }?.count == 3)
        #expect(health.latencyCounts.reduce(0, +) == 3)
        #expect(health.latencyCounts.count == health.latencyUpperSeconds.count + 1)
        #expect(health.latencySumSeconds > 0)
        let read = try #require(stats.operations.first { $0.operation == "read_memory" })
        #expect(read.statuses.count == 1)
        #expect(stats.workers == 2)
        #expect(stats.queueDepth == 0)
        #expect(stats.uptimeSeconds > 0)
    }

    @Test("a REQ socket is served too (its delimiter frame is echoed)")
    func reqSocketServed() throws {
        let daemon = try DaemonProcess()
        let probe = try WireProbe(endpoint: daemon.endpoint, type: .request)
        #expect(try probe.stillServes(id: 12))
    }

    @Test("SIGTERM stops the daemon cleanly and removes its ipc socket file")
    func sigtermRemovesSocketFile() throws {
        let daemon = try DaemonProcess()
        let path = String(daemon.endpoint.dropFirst("ipc://".count))
        #expect(FileManager.default.fileExists(atPath: path))
        #expect(daemon.stop() == 0)
        #expect(!FileManager.default.fileExists(atPath: path))
        #expect(daemon.log.contains("stopped"))
    }

    @Test("a second daemon on the same ipc endpoint refuses to start")
    func secondDaemonRefused() throws {
        let first = try DaemonProcess()
        #expect {
            try DaemonProcess(endpoints: [first.endpoint])
        } throws: { error in
            "\(error)".contains("another process is serving")
        }
        #expect(try WireProbe(endpoint: first.endpoint).stillServes())
    }

    @Test("a stale ipc socket file left by a dead daemon is replaced")
    func staleSocketReplaced() throws {
        let directory = try TemporaryDirectory("lomad-stale").url
        let path = directory.appendingPathComponent("s.sock").path
        try StaleUnixSocket.create(at: path)
        #expect(FileManager.default.fileExists(atPath: path))
        let daemon = try DaemonProcess(endpoints: ["ipc://\(path)"])
        #expect(try WireProbe(endpoint: daemon.endpoint).stillServes())
    }
}
