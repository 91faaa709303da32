import Foundation
import LoMAModel
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
        #expect(stats.stdout.contains("health: ok=2, latency mean"), "\(stats.stdout)")
        #expect(stats.stdout.contains("model loma-tiny: loaded in"), "\(stats.stdout)")
    }

    @Test("exit code 3 and a clear message when no daemon answers")
    func noDaemon() throws {
        let directory = try TemporaryDirectory("lomactl-none").url
        let run = try CommandRun.lomactl(["health", "--endpoint", "ipc://\(directory.path)/x.sock",
                                          "--timeout", "0.2", "--retries", "0"])
        #expect(run.status == 3)
        #expect(run.stderr.contains("no reply from lomad"))
    }

    @Test("compress through the daemon writes the same file as lomad compress; memory, sequences, fork, delete")
    func compressAndSequenceCommands() throws {
        let fixtureCase = try StoreOperationTests.multiSegmentCase()
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(fixtureCase.modelDirectory.path)"])
        let scratch = try TemporaryDirectory("lomactl")
        defer { scratch.remove() }
        let viaDaemon = scratch.url.appendingPathComponent("daemon.safetensors").path
        let offline = scratch.url.appendingPathComponent("offline.safetensors").path
        let stored = scratch.url.appendingPathComponent("stored.safetensors").path
        let position = String(fixtureCase.description.position)
        let endpoint = ["--endpoint", daemon.endpoint]

        let compress = try CommandRun.lomactl(["compress", "--model", "m", "--input", fixtureCase.input.path,
                                               "--output", viaDaemon, "--sequence", "s", "--position", position] + endpoint)
        #expect(compress.status == 0, "\(compress.stderr)")
        let local = try CommandRun.lomad(["compress", "--model", fixtureCase.modelDirectory.path,
                                          "--input", fixtureCase.input.path, "--output", offline, "--position", position])
        #expect(local.status == 0, "\(local.stderr)")
        let memory = try CommandRun.lomactl(["memory", "--sequence", "s", "--output", stored] + endpoint)
        #expect(memory.status == 0, "\(memory.stderr)")

        let expected = try KVFileComparison.expected(fixtureCase.expected)
        for path in [viaDaemon, offline, stored] {
            let file = try KVFileComparison.expected(URL(fileURLWithPath: path))
            #expect(KVFileComparison.relativeError(file.keys, expected.keys) < 1e-4, "\(path)")
            #expect(KVFileComparison.relativeError(file.values, expected.values) < 1e-4, "\(path)")
            #expect(file.positions == expected.positions, "\(path)")
        }

        #expect(try CommandRun.lomactl(["fork", "s", "t"] + endpoint).status == 0)
        let listed = try CommandRun.lomactl(["sequences"] + endpoint)
        #expect(listed.stdout.contains("\ns\tm\t") && listed.stdout.contains("\nt\tm\t"), "\(listed.stdout)")
        #expect(try CommandRun.lomactl(["delete", "t"] + endpoint).status == 0)
        let missing = try CommandRun.lomactl(["delete", "t"] + endpoint)
        #expect(missing.status == 4)
        #expect(missing.stderr.contains("not_found"))
    }
}
