import Foundation
import LoMATestSupport
import Testing

@Suite("lomactl against a real daemon")
struct LomactlTests {
    @Test("health and stats, human-readable and JSON")
    func healthAndStats() throws {
        let daemon = try DaemonProcess()
        let health = try CommandRun.lomactl(["health", "--endpoint", daemon.endpoint])
        #expect(health.status == 0)
        #expect(health.stdout.contains("protocol 1"))
        let json = try CommandRun.lomactl(["health", "--endpoint", daemon.endpoint, "--json"])
        #expect(json.status == 0)
        let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect(object?["protocol_version"] as? Int == 1)
        let stats = try CommandRun.lomactl(["stats", "--endpoint", daemon.endpoint])
        #expect(stats.status == 0)
        #expect(stats.stdout.contains("health: ok=2"))
    }

    @Test("exit code 3 and a clear message when no daemon answers")
    func noDaemon() throws {
        let directory = try TemporaryDirectory("lomactl-none").url
        let run = try CommandRun.lomactl(["health", "--endpoint", "ipc://\(directory.path)/x.sock",
                                          "--timeout", "0.2", "--retries", "0"])
        #expect(run.status == 3)
        #expect(run.stderr.contains("no reply from lomad"))
    }
}
