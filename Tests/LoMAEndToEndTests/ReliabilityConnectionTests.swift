import Foundation
import LoMAClient
import LoMAProtocol
import LoMARuntime
import LoMATestSupport
import Testing

/// Running out of descriptors must be a refusal, never an abort: libzmq 4.3.4 aborts the process
/// when its ipc listener's accept fails with EMFILE and spins on a failing tcp accept. These
/// tests run a real daemon under a small `ulimit -n` and open more idle connections than the
/// limit allows, as fast as they can.
@Suite("Reliability: connections and descriptors", .serialized)
struct ReliabilityConnectionTests {
    /// Soft and hard limit the daemon runs under: room for 384 connections
    /// (`DescriptorLimit.maxConnections`), 192 per peer by default.
    static let descriptorLimit = 2560
    static var maxConnections: Int { DescriptorLimit.maxConnections(descriptors: descriptorLimit) }
    /// More than the descriptor limit: without the limits, the daemon aborts (ipc) or spins
    /// (tcp) before the last one.
    static let flood = 3000
    /// Long enough that no flood connection is closed for its silence while a test runs, so
    /// every close the test sees is a refusal.
    static let patientHandshake = ["--set", "limits.handshake_timeout_seconds=600"]

    init() {
        // The test process itself holds every flood connection.
        DescriptorLimit.raiseToHardLimit()
    }


    /// The value of `series` on the daemon's metrics endpoint (started with `--metrics-listen 127.0.0.1:0`).
    static func metric(_ daemon: DaemonProcess, _ series: String) throws -> Double? {
        let line = try #require(ServiceLogLine.lines(of: daemon.log).first { $0["msg"] == "metrics listening" },
                                "no metrics line; log:\n\(daemon.log)")
        let port = try #require(line["address"]?.split(separator: ":").last.flatMap { UInt16($0) })
        let body = try ServiceHTTP.get(port: port, path: "/metrics").body
        return body.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    /// Floods `daemon`'s endpoint and checks the outcome: alive, at most `allowed` connections
    /// held (the client's included), every other one refused and counted, the connected client
    /// still served; then, once the flood hangs up, the slots come back: a client shut out
    /// during the flood is served, and so is a new one.
    static func floodAndRecover(_ daemon: DaemonProcess, endpoint: String, allowed: Int) async throws {
        let client = try LoMAClient(endpoint: try Endpoint(endpoint), timeout: .seconds(30), retries: 0)
        let health = try await client.health()
        #expect(Int(health.limits.maxConnections) == maxConnections)

        let raw = RawConnections()
        do {
            try raw.open(flood, to: endpoint)
        } catch {
            Issue.record("the flood could not connect (\(error)); lomad running: \(daemon.process.isRunning)\n\(daemon.log)")
            return
        }
        let refusedAtLeast = flood - (allowed - 1)
        let during = try await client.stats { $0.refusedConnections >= refusedAtLeast && Int($0.connections) <= allowed }
        #expect(daemon.process.isRunning, "lomad died under the flood:\n\(daemon.log)")
        #expect(Int(during.connections) <= allowed, "\(during.connections) connections held")
        #expect(during.refusedConnections >= UInt64(refusedAtLeast), "only \(during.refusedConnections) refused")
        #expect(raw.waitUntilClosedByPeer(refusedAtLeast) >= refusedAtLeast)
        #expect(try metric(daemon, "lomad_refused_connections_total") ?? 0 >= Double(refusedAtLeast))
        // The client connected before the flood is still served.
        _ = try await client.health()

        // A client that connects while every slot is taken is shut out; its DEALER reconnects,
        // and a request that went out on a refused connection is lost with it, so the client
        // retries (as LoMAClient does for requests safe to repeat). It is served once the flood
        // hangs up.
        let late = try LoMAClient(endpoint: try Endpoint(endpoint), timeout: .seconds(1), retries: 60)
        let lateHealth = Task { try await late.health() }
        try await Task.sleep(for: .milliseconds(300))
        raw.closeAll()
        _ = try await lateHealth.value
        // The first client and the late one; sockets the late one gave up on may take a moment.
        let after = try await client.stats { $0.connections <= 2 }
        #expect(after.connections <= 2, "connections still counted after the flood hung up: \(after.connections)")
        #expect(try metric(daemon, "lomad_connections") ?? 0 <= 2)
        let newcomer = try LoMAClient(endpoint: try Endpoint(endpoint), timeout: .seconds(30), retries: 0)
        #expect(try await newcomer.stats().connections <= 3)
        #expect(daemon.process.isRunning)
        #expect(ServiceLogLine.lines(of: daemon.log).contains { $0["msg"] == "connection refused" })
    }

    @Test("3000 idle ipc connections under ulimit -n 2560: refused past the per-peer limit, the daemon keeps serving")
    func ipcFloodIsRefused() async throws {
        let daemon = try DaemonProcess(arguments: Self.patientHandshake + ["--metrics-listen", "127.0.0.1:0"],
                                       descriptorLimit: Self.descriptorLimit)
        // Every connection here is from this test's uid: the per-peer limit (half) applies first.
        try await Self.floodAndRecover(daemon, endpoint: daemon.endpoint, allowed: Self.maxConnections / 2)
    }

    @Test("3000 idle tcp connections under ulimit -n 2560: refused past max_connections, the daemon keeps serving")
    func tcpFloodIsRefused() async throws {
        let daemon = try DaemonProcess(arguments: Self.patientHandshake + ["--metrics-listen", "127.0.0.1:0",
                                                                           "--set", "limits.max_connections_per_peer=\(Self.maxConnections)"],
                                       endpoints: ["tcp://127.0.0.1:*"], descriptorLimit: Self.descriptorLimit)
        try await Self.floodAndRecover(daemon, endpoint: daemon.endpoint, allowed: Self.maxConnections)
    }

    /// The bound does not depend on the broker keeping up: with the broker thread stalled for
    /// good (`lomad-test-daemon`), nobody reads the monitor, libzmq's I/O thread blocks once
    /// `DescriptorLimit.monitorBacklog` events wait, and it accepts nothing more.
    @Test("with the broker stalled, libzmq stops accepting at the monitor backlog instead of running out", arguments: ["ipc", "tcp"])
    func stalledBrokerStillBoundsDescriptors(transport: String) async throws {
        let daemon = try DaemonProcess(executable: "lomad-test-daemon", arguments: Self.patientHandshake + ["--stall-broker-after", "0"],
                                       endpoints: transport == "tcp" ? ["tcp://127.0.0.1:*"] : nil,
                                       descriptorLimit: Self.descriptorLimit)
        defer { daemon.killAndWait() }
        for _ in 0..<600 where !daemon.log.contains("stalling the broker loop") {
            try await Task.sleep(for: .milliseconds(10))
        }
        let pid = daemon.process.processIdentifier
        let idle = try Self.openDescriptors(pid)
        let raw = RawConnections()
        // More attempts than the limit, then until the daemon's descriptor count stops moving.
        for _ in 0..<6 { try raw.attempt(500, to: daemon.endpoint) }
        // Settled means unchanged for a whole second: on a loaded machine libzmq's I/O thread can
        // pause for longer than one sample while it is still accepting.
        var held = try Self.openDescriptors(pid)
        var unchanged = 0
        for _ in 0..<150 where unchanged < 5 {
            try await Task.sleep(for: .milliseconds(200))
            let now = try Self.openDescriptors(pid)
            unchanged = now == held ? unchanged + 1 : 0
            held = now
        }
        #expect(daemon.process.isRunning, "lomad died:\n\(daemon.log)")
        // The stalled broker refused nothing, so the limit held only because libzmq stopped.
        #expect(held - idle > Self.maxConnections)
        #expect(held - idle <= DescriptorLimit.monitorBacklog + 8, "\(held - idle) connections accepted while nobody read the monitor")
        #expect(held < Self.descriptorLimit)
    }

    static func openDescriptors(_ pid: Int32) throws -> Int {
        try FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count
    }

    @Test("connections that never complete the handshake are closed and their slots come back")
    func silentConnectionsTimeOut() async throws {
        let daemon = try DaemonProcess(arguments: ["--set", "limits.handshake_timeout_seconds=0.2"],
                                       descriptorLimit: Self.descriptorLimit)
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(30), retries: 0)
        _ = try await client.health()
        let raw = RawConnections()
        try raw.open(10, to: daemon.endpoint)
        #expect(raw.waitUntilClosedByPeer(10) == 10)
        let stats = try await client.stats { $0.connections == 1 }
        #expect(stats.connections == 1)
        #expect(stats.refusedConnections == 0, "timed-out connections are not refusals")
    }

    @Test("a connection limit the descriptor limit cannot carry is refused at start with what would fit")
    func oversizedLimitIsRefusedAtStart() throws {
        #expect {
            try DaemonProcess(arguments: ["--set", "limits.max_connections=1000"], descriptorLimit: Self.descriptorLimit)
        } throws: { error in
            "\(error)".contains("limits.max_connections = 1000") && "\(error)".contains("at most \(Self.maxConnections)")
        }
    }
}
