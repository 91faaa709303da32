import Foundation
import LoMAProtocol
import LoMARuntime
import LoMAService
import LoMATestSupport
import Testing

/// `ServiceSettings.resolve` in-process: the order the sources apply in, and the server
/// configuration the settings become. The end-to-end tests (`ServiceConfigurationTests`) check the
/// same through `lomad serve --print-config`; these pin the library the daemon composes.
@Suite("Settings: sources in order, and the server configuration they make")
struct SettingsResolutionTests {
    private func file(_ text: String) throws -> URL {
        let url = try TemporaryDirectory("settings").url.appendingPathComponent("lomad.toml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url
    }

    @Test("defaults, then the file, then flags, then LOMAD_* variables")
    func laterSourcesWin() throws {
        let url = try file("[limits]\nqueue_depth = 10\nmax_queued_bytes = 1000\n[threads]\nworkers = 3\n")
        let flags = [SettingAssignment(flag: "--queue-depth", key: "limits.queue_depth", text: "20"),
                     SettingAssignment(flag: "--workers", key: "threads.workers", text: "4")]
        let environment = ["LOMAD_LIMITS_QUEUE_DEPTH": "30", "LOMAD_MODEL_DIR": "/not/a/setting"]

        let fromFile = try ServiceSettings.resolve(file: url)
        #expect(fromFile.queueDepth == 10 && fromFile.maxQueuedBytes == 1000 && fromFile.workers == 3)
        let withFlags = try ServiceSettings.resolve(file: url, flags: flags)
        #expect(withFlags.queueDepth == 20 && withFlags.workers == 4 && withFlags.maxQueuedBytes == 1000)
        let withEnvironment = try ServiceSettings.resolve(file: url, flags: flags, environment: environment)
        #expect(withEnvironment.queueDepth == 30 && withEnvironment.workers == 4)
        #expect(try ServiceSettings.resolve(file: nil) == ServiceSettings.resolve(file: try file("")), "an empty file changes nothing")
    }

    @Test("a flag naming no setting is refused with the flag and the key")
    func unknownFlagKey() throws {
        let error = try #require(throws: SettingsError.self) {
            try ServiceSettings.resolve(file: nil, flags: [SettingAssignment(flag: "--set limits.queue", key: "limits.queue", text: "1")])
        }
        #expect(error.source == .flag("--set limits.queue") && error.key == "limits.queue")
    }

    @Test("the settings become the server's configuration, unit conversions included")
    func serverConfiguration() throws {
        let url = try file("""
            endpoints = ["tcp://127.0.0.1:*"]
            [limits]
            queue_depth = 7
            drain_timeout_seconds = 2.5
            max_compute_seconds = 0
            [batching]
            window_ms = 0
            max_requests = 3
            [socket]
            mode = "0600"
            """)
        let settings = try ServiceSettings.resolve(file: url)
        let fallback = try Endpoint("ipc:///tmp/unused.sock")
        let configuration = try settings.serverConfiguration(defaultEndpoint: fallback)
        #expect(configuration.queueDepth == 7)
        #expect(configuration.drainTimeout == .milliseconds(2500))
        #expect(configuration.maxComputeTime == nil, "0 means no compute limit")
        #expect(configuration.batchWindow == .zero && configuration.maxBatchRequests == 3)
        #expect(configuration.socketPermissions.mode == 0o600)
        #expect(configuration.endpoints.map(\.description) == ["tcp://127.0.0.1:*"])
    }
}
