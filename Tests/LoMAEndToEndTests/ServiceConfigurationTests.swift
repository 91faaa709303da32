import Foundation
import LoMAClient
import LoMAProtocol
import LoMAService
import LoMATestSupport
import Testing

@Suite("configuration: file, flags, environment, --print-config, SIGHUP")
struct ServiceConfigurationTests {
    private func write(_ text: String, in directory: TemporaryDirectory, name: String = "lomad.toml") throws -> URL {
        let url = directory.url.appendingPathComponent(name)
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    /// `lomad serve --print-config`'s output, read back through the same resolver.
    private func printedSettings(_ arguments: [String], environment: [String: String] = [:]) throws -> ServiceSettings {
        let run = try CommandRun.run("lomad", ["serve", "--print-config"] + arguments, environment: environment)
        try #require(run.status == 0, "print-config failed: \(run.stderr)")
        let scratch = try TemporaryDirectory("lomad-printed")
        defer { scratch.remove() }
        return try ServiceSettings.resolve(file: try write(run.stdout, in: scratch))
    }

    @Test("the file sets, a flag overrides the file, LOMAD_* overrides both")
    func precedence() throws {
        let scratch = try TemporaryDirectory("lomad-config")
        defer { scratch.remove() }
        let file = try write("""
            [limits]
            queue_depth = 5
            max_frames = 9
            [threads]
            workers = 3
            [log]
            level = "debug"
            """, in: scratch)
        let settings = try printedSettings(["--config", file.path, "--queue-depth", "6", "--max-frames", "10"],
                                           environment: ["LOMAD_LIMITS_MAX_FRAMES": "11"])
        #expect(settings.workers == 3)                 // file
        #expect(settings.logLevel == .debug)           // file
        #expect(settings.queueDepth == 6)              // flag over file
        #expect(settings.maxFrames == 11)              // environment over flag and file
        #expect(settings.maxFrameBytes == ProtocolLimits().maxFrameBytes)  // default
    }

    @Test("--print-config reads back to the settings it printed")
    func printConfigRoundTrip() throws {
        let arguments = ["--endpoint", "tcp://127.0.0.1:5555", "--endpoint", "ipc:///tmp/x y.sock", "--durable",
                         "--store-dir", "/var/tmp/lomad \"quoted\"", "--batch-window-ms", "0.5", "--socket-mode", "0640",
                         "--metrics-listen", "[::1]:9464", "--set", "threads.blas=3"]
        let scratch = try TemporaryDirectory("lomad-roundtrip")
        defer { scratch.remove() }
        let first = try CommandRun.lomad(["serve", "--print-config"] + arguments)
        try #require(first.status == 0, "\(first.stderr)")
        let second = try CommandRun.lomad(["serve", "--print-config", "--config", try write(first.stdout, in: scratch).path])
        #expect(second.status == 0)
        #expect(second.stdout == first.stdout)
        let settings = try ServiceSettings.resolve(file: scratch.url.appendingPathComponent("lomad.toml"))
        #expect(settings.endpoints == ["tcp://127.0.0.1:5555", "ipc:///tmp/x y.sock"])
        #expect(settings.storeDirectory == "/var/tmp/lomad \"quoted\"")
        #expect(settings.batchWindowMilliseconds == 0.5)
        #expect(settings.socketMode == 0o640)
        #expect(settings.blasThreads == 3)
    }

    @Test("errors name the source, the key and the value", arguments: [
        (["--workers", "zero"], [String: String](), "command-line flag --workers: threads.workers = zero: expected an integer"),
        (["--set", "limits.queue_depth=-1"], [:], "limits.queue_depth = -1: must be at least 0"),
        (["--set", "limits.nope=1"], [:], "limits.nope = 1: no such setting"),
        ([], ["LOMAD_LOG_LEVEL": "loud"], "environment variable LOMAD_LOG_LEVEL: log.level = loud: expected one of"),
        ([], ["LOMAD_ENDPOINTS": "udp://x"], "endpoints = udp://x"),
        (["--store-dir", "/tmp/s"], [:], "store.directory = \"/tmp/s\": only used when store.mode = \"durable\""),
        (["--metrics-listen", "example.org:80"], [:], "metrics.listen = example.org:80: 'example.org' is not an IPv4 or [IPv6] address"),
        (["--set", "limits.handshake_timeout_seconds=1e300"], [:], "limits.handshake_timeout_seconds = 1e300: must be at most 86400"),
        (["--set", "limits.drain_timeout_seconds=1e300"], [:], "limits.drain_timeout_seconds = 1e300: must be at most 86400"),
        (["--set", "limits.max_connections=-1"], [:], "limits.max_connections = -1: must be at least 0"),
        (["--set", "batching.window_ms=1e300"], [:], "batching.window_ms = 1e300: must be at most 86400000"),
    ])
    func validationErrors(arguments: [String], environment: [String: String], message: String) throws {
        let run = try CommandRun.run("lomad", ["serve", "--print-config"] + arguments, environment: environment)
        #expect(run.status == 78)
        #expect(run.stderr.contains(message), "stderr: \(run.stderr)")
        #expect(run.stdout.isEmpty)
    }

    @Test("a bad file is refused with the file, the key and the value, or the TOML position")
    func badFile() throws {
        let scratch = try TemporaryDirectory("lomad-badfile")
        defer { scratch.remove() }
        let typo = try write("[limits]\nqueue_dept = 3\n", in: scratch, name: "typo.toml")
        let typed = try write("[threads]\nworkers = \"four\"\n", in: scratch, name: "typed.toml")
        let broken = try write("[limits\n", in: scratch, name: "broken.toml")
        let cases = [
            (typo, "\(typo.path): limits.queue_dept = 3: no such setting"),
            (typed, "\(typed.path): threads.workers = \"four\": expected an integer"),
            (broken, "\(broken.path): not valid TOML at line 1"),
        ]
        for (file, message) in cases {
            let run = try CommandRun.lomad(["serve", "--config", file.path])
            #expect(run.status == 78)
            #expect(run.stderr.contains(message), "stderr: \(run.stderr)")
        }
        let missing = try CommandRun.lomad(["serve", "--config", scratch.url.appendingPathComponent("none.toml").path])
        #expect(missing.status == 78)
        #expect(missing.stderr.contains("none.toml does not exist"))
    }

    @Test("the shipped service configuration lists every key and is valid")
    func shippedConfiguration() throws {
        let file = RepositoryPaths.root.appendingPathComponent("systemd/lomad.toml")
        let settings = try ServiceSettings.resolve(file: file)
        #expect(settings.endpoints == ["ipc:///run/lomad/lomad.sock"])
        #expect(settings.socketGroup == "lomad-clients")
        #expect(settings.socketMode == 0o660)
        let text = try String(contentsOf: file, encoding: .utf8)
        for key in ServiceSettings.keys {
            let leaf = key.name.split(separator: ".").last.map(String.init) ?? key.name
            #expect(text.contains("\n\(leaf) = "), "systemd/lomad.toml lacks \(key.name)")
        }
    }

    /// The flags come from the declarations (`SettingDeclarationTests` checks each key in-process);
    /// this checks the real command line reads them.
    @Test("lomad serve --help lists every setting's flag, and unknown or incomplete flags are refused")
    func flagsOnTheCommandLine() throws {
        let help = try CommandRun.lomad(["serve", "--help"])
        #expect(help.status == 0)
        for key in ServiceSettings.keys {
            #expect(help.stdout.contains(key.flag.spelling), "lomad serve --help lacks \(key.flag.spelling) (\(key.name))")
        }
        for (arguments, message) in [(["--queue-dept", "3"], "command-line flag --queue-dept: no such option"),
                                     (["--queue-depth"], "command-line flag --queue-depth: limits.queue_depth = : --queue-depth needs a value"),
                                     (["--durable=yes"], "--durable takes no value"),
                                     (["stray"], "command-line flag stray: unexpected argument"),
                                     (["--set", "limits.queue_depth"], "command-line flag --set: limits.queue_depth = : expected KEY=VALUE")] {
            let run = try CommandRun.lomad(["serve", "--print-config"] + arguments)
            #expect(run.status == 78, "\(arguments)")
            #expect(run.stderr.contains(message), "\(arguments): \(run.stderr)")
        }
    }

    @Test("SIGHUP applies limits and log level live, keeps clients, and reports what needs a restart")
    func reloadOnSIGHUP() async throws {
        let scratch = try TemporaryDirectory("lomad-reload")
        defer { scratch.remove() }
        let file = try write("[limits]\nqueue_depth = 5\n[log]\nlevel = \"info\"\n", in: scratch)
        let manager = try ServiceNotifyListener()
        let daemon = try DaemonProcess(arguments: ["--config", file.path], environment: manager.environment())
        _ = try #require(manager.notifications(until: "READY", timeout: .seconds(30)))
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(10))
        #expect(try await client.health().limits.queueDepth == 5)

        _ = try write("[limits]\nqueue_depth = 7\nmax_frames = 12\n[threads]\nworkers = 3\n[log]\nlevel = \"debug\"\n", in: scratch)
        kill(daemon.process.processIdentifier, SIGHUP)
        let reload = try #require(manager.notifications(until: "READY", timeout: .seconds(20)), "no READY=1 after reload")
        #expect(reload.contains { $0["RELOADING"] == "1" })

        let health = try await client.health()
        #expect(health.limits.queueDepth == 7)
        #expect(health.limits.maxFrames == 12)
        #expect(health.limits.workers == 2)
        let lines = ServiceLogLine.lines(of: daemon.log)
        #expect(lines.contains { $0["msg"] == "configuration changes that need a restart were not applied" && $0["keys"] == "threads.workers" })
        #expect(lines.contains { $0["level"] == "debug" }, "log.level = debug did not take effect")

        // An invalid file changes nothing and the daemon keeps serving.
        _ = try write("[limits]\nqueue_depth = -2\n", in: scratch)
        kill(daemon.process.processIdentifier, SIGHUP)
        let failed = try #require(manager.notifications(until: "READY", timeout: .seconds(20)))
        #expect(failed.last?["STATUS"]?.contains("last reload failed") == true)
        #expect(try await client.health().limits.queueDepth == 7)
        #expect(daemon.stop() == 0)
    }
}
