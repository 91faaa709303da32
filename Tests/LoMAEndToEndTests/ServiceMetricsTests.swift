import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Testing

@Suite("Prometheus metrics endpoint")
struct ServiceMetricsTests {
    private func metricsPort(_ daemon: DaemonProcess) throws -> UInt16 {
        let line = try #require(ServiceLogLine.lines(of: daemon.log).first { $0["msg"] == "metrics listening" },
                                "no metrics line; log:\n\(daemon.log)")
        let address = try #require(line["address"])
        return try #require(address.split(separator: ":").last.flatMap { UInt16($0) })
    }

    /// The sample value of one series (`name{labels} value`).
    private func sample(_ body: String, _ series: String) -> Double? {
        body.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test("requests by operation and status, latency histogram, queue and store figures")
    func scrape() async throws {
        let daemon = try DaemonProcess(arguments: ["--metrics-listen", "127.0.0.1:0"])
        let port = try metricsPort(daemon)
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(10))
        for _ in 0..<3 { _ = try await client.health() }
        await #expect(throws: StatusError.self) { try await client.send(.readMemory(Loma_V1_ReadMemoryRequest())) }

        let response = try ServiceHTTP.get(port: port, path: "/metrics")
        #expect(response.statusLine == "HTTP/1.1 200 OK")
        #expect(response.headers["content-type"]?.hasPrefix("text/plain; version=0.0.4") == true)
        let body = response.body
        #expect(sample(body, #"lomad_requests_total{operation="health",status="ok"}"#) == 3)
        #expect(body.contains(#"lomad_requests_total{operation="read_memory",status=""#))
        #expect(sample(body, #"lomad_request_duration_seconds_count{operation="health"}"#) == 3)
        #expect(sample(body, #"lomad_request_duration_seconds_bucket{operation="health",le="+Inf"}"#) == 3)
        #expect(sample(body, "lomad_queue_depth") == 0)
        #expect(sample(body, #"lomad_store_bytes{tier="ram"}"#) == 0)
        #expect(sample(body, #"lomad_store_entries{tier="disk"}"#) == 0)
        #expect(sample(body, "lomad_store_ram_budget_bytes") == Double(1 << 30))

        // The same counts through the stats operation.
        let stats = try await client.stats()
        #expect(stats.operations.first { $0.operation == "health" }?.statuses.first { $0.code == .ok }?.count == 3)
    }

    @Test("only GET /metrics is served")
    func otherPaths() throws {
        let daemon = try DaemonProcess(arguments: ["--metrics-listen", "127.0.0.1:0"])
        let port = try metricsPort(daemon)
        #expect(try ServiceHTTP.get(port: port, path: "/").statusLine == "HTTP/1.1 404 Not Found")
    }

    @Test("metrics are off unless configured")
    func offByDefault() throws {
        let daemon = try DaemonProcess()
        #expect(!daemon.log.contains("metrics listening"))
    }
}
