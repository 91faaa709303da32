import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Testing

@Suite("lomad speaks sd_notify to its service manager")
struct ServiceNotifyTests {
    @Test("STATUS while starting, READY=1 once the endpoint answers, STOPPING=1 on SIGTERM")
    func readyAndStopping() async throws {
        let manager = try ServiceNotifyListener()
        let daemon = try DaemonProcess(environment: manager.environment())
        let start = try #require(manager.notifications(until: "READY", timeout: .seconds(30)), "no READY=1; log:\n\(daemon.log)")
        #expect(start.dropLast().allSatisfy { $0["READY"] == nil })
        #expect(start.dropLast().contains { $0["STATUS"]?.contains("store") == true })
        let ready = try #require(start.last)
        #expect(ready["READY"] == "1")
        #expect(ready["STATUS"]?.contains(daemon.endpoint) == true)

        // READY=1 promises an answering endpoint.
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(10))
        #expect(try await client.health().protocolVersion == ProtocolVersion.current)

        kill(daemon.process.processIdentifier, SIGTERM)
        let stop = try #require(manager.notifications(until: "STOPPING", timeout: .seconds(20)), "no STOPPING=1; log:\n\(daemon.log)")
        #expect(stop.last?["STOPPING"] == "1")
        #expect(daemon.stop() == 0)
    }

    @Test("WATCHDOG=1 comes at half the configured watchdog interval")
    func watchdogPings() throws {
        let manager = try ServiceNotifyListener()
        let timeout = Duration.milliseconds(600)
        let daemon = try DaemonProcess(environment: manager.environment(watchdog: timeout))
        _ = try #require(manager.notifications(until: "READY", timeout: .seconds(30)), "no READY=1; log:\n\(daemon.log)")
        var pings: [ContinuousClock.Instant] = []
        while pings.count < 7, let notification = manager.next(timeout: timeout * 4) {
            if notification["WATCHDOG"] == "1" { pings.append(notification.arrival) }
        }
        try #require(pings.count == 7, "only \(pings.count) watchdog pings; log:\n\(daemon.log)")
        // The median gap is robust to one late wake-up on a loaded machine: the daemon must ping
        // well within the timeout, and not spin.
        let gaps = zip(pings.dropFirst(), pings).map { $0 - $1 }.sorted()
        let median = gaps[gaps.count / 2]
        #expect(median < timeout, "median gap \(median)")
        #expect(median > timeout / 6, "median gap \(median)")
    }

    @Test("a stalled broker stops the watchdog pings (and stops answering)")
    func stalledBrokerStopsPinging() async throws {
        let manager = try ServiceNotifyListener()
        let timeout = Duration.milliseconds(400)
        let daemon = try DaemonProcess(executable: "lomad-test-daemon", arguments: ["--stall-broker-after", "1.5"],
                                       environment: manager.environment(watchdog: timeout))
        _ = try #require(manager.notifications(until: "READY", timeout: .seconds(30)), "no READY=1; log:\n\(daemon.log)")
        #expect(manager.next(timeout: timeout * 3)?["WATCHDOG"] == "1", "no ping before the stall")

        let deadline = ContinuousClock.now + .seconds(30)
        while !daemon.log.contains("stalling the broker loop"), ContinuousClock.now < deadline {
            _ = manager.next(timeout: .milliseconds(50))
        }
        try #require(daemon.log.contains("stalling the broker loop"), "the stall hook never fired; log:\n\(daemon.log)")
        // Pings already in flight when the log line was read are drained; then none may come
        // for several whole timeouts.
        while manager.next(timeout: .milliseconds(100)) != nil {}
        #expect(manager.next(timeout: timeout * 4) == nil)
        #expect(daemon.process.isRunning)

        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .milliseconds(500), retries: 0)
        await #expect(throws: LoMAClientError.self) { try await client.health() }
        daemon.stop(timeout: .milliseconds(500))
    }

    /// The stall is armed only through the package-internal seam `lomad-test-daemon` uses: the
    /// variable that once armed it in `lomad` itself must do nothing to an installed daemon.
    @Test("lomad itself cannot be stalled: the old LOMAD_TEST_STALL_BROKER_AFTER is ignored")
    func lomadHasNoStallHook() async throws {
        let manager = try ServiceNotifyListener()
        let timeout = Duration.milliseconds(400)
        var environment = manager.environment(watchdog: timeout)
        environment["LOMAD_TEST_STALL_BROKER_AFTER"] = "0"
        let daemon = try DaemonProcess(environment: environment)
        _ = try #require(manager.notifications(until: "READY", timeout: .seconds(30)), "no READY=1; log:\n\(daemon.log)")
        var pings = 0
        while pings < 4, let notification = manager.next(timeout: timeout * 4) {
            if notification["WATCHDOG"] == "1" { pings += 1 }
        }
        #expect(pings == 4, "the watchdog pings stopped; log:\n\(daemon.log)")
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(10))
        #expect(try await client.health().protocolVersion == ProtocolVersion.current)
        #expect(!daemon.log.contains("stall"))
        // lomad sends without blocking, so a notification that finds the socket's queue full (the
        // kernel keeps about ten) is dropped: read what queued while the client ran, then keep
        // reading through STOPPING=1, as a service manager does.
        while manager.next(timeout: .milliseconds(50)) != nil {}
        kill(daemon.process.processIdentifier, SIGTERM)
        _ = try #require(manager.notifications(until: "STOPPING", timeout: .seconds(20)), "no STOPPING=1; log:\n\(daemon.log)")
        #expect(daemon.stop() == 0)
    }

    /// The kernel queues only a few datagrams on a notify socket; a manager that stops reading
    /// must cost lomad its notifications, never its broker loop (which sends the pings).
    @Test("a service manager that stops reading does not stall lomad: it answers and stops on SIGTERM")
    func unreadNotificationsDoNotStall() async throws {
        let manager = try ServiceNotifyListener()
        let timeout = Duration.milliseconds(100)
        let daemon = try DaemonProcess(environment: manager.environment(watchdog: timeout))
        _ = try #require(manager.notifications(until: "READY", timeout: .seconds(30)), "no READY=1; log:\n\(daemon.log)")
        // Pings every 50 ms, none read: the socket's queue fills within a second.
        try await Task.sleep(for: .seconds(2))
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(10), retries: 0)
        #expect(try await client.health().protocolVersion == ProtocolVersion.current)
        #expect(daemon.stop() == 0, "lomad did not stop on SIGTERM; log:\n\(daemon.log)")
    }
}
