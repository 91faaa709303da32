import ArgumentParser
import Foundation
import LoMAService

/// `lomad serve`: the daemon in the foreground until SIGTERM or SIGINT; SIGHUP reloads the
/// configuration. Every flag but `--config` and `--print-config` sets one key of the
/// configuration file (`ServiceSettings.keys`); `LOMAD_*` environment variables override both.
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon in the foreground until SIGTERM or SIGINT (SIGHUP reloads the configuration).",
        discussion: """
        Settings come from a TOML file (--config, else $LOMAD_CONFIG, else $CONFIGURATION_DIRECTORY/lomad.toml \
        when systemd sets it), then these flags, then LOMAD_* environment variables (LOMAD_ + the key in capitals, \
        '.' as '_', e.g. LOMAD_LIMITS_QUEUE_DEPTH). `lomad serve --print-config` shows the result.
        """)

    @Option(help: "TOML configuration file.")
    var config: String?

    @Flag(help: "Print the effective configuration as TOML and exit.")
    var printConfig = false

    @Option(name: .customLong("set"), help: ArgumentHelp("Set any configuration key, e.g. --set limits.queue_depth=32; repeatable.",
                                                         valueName: "key=value"))
    var assignments: [String] = []

    @Option(name: .customLong("endpoint"), help: ArgumentHelp("endpoints: ipc://PATH or tcp://HOST:PORT (port * picks a free one); repeatable.",
                                                              valueName: "endpoint"))
    var endpoints: [String] = []

    @Option(name: .customLong("model"), help: ArgumentHelp("models: NAME=DIR or DIR (named after the folder); repeatable.",
                                                           valueName: "model"))
    var models: [String] = []

    @Flag(help: "store.mode = \"durable\": keep the store on disk (LMDB).")
    var durable = false

    @Option(help: "store.directory: directory of the durable store.")
    var storeDir: String?

    @Option(help: "store.ram_budget_bytes.")
    var ramBudgetBytes: String?

    @Option(help: "store.map_size_bytes.")
    var mapSizeBytes: String?

    @Flag(help: "store.quantization = \"int8\".")
    var storeInt8 = false

    @Option(help: "threads.workers: compute worker threads.")
    var workers: String?

    @Option(help: "threads.blas: engine threads per product (0: one per core).")
    var blasThreads: String?

    @Option(help: "limits.queue_depth.")
    var queueDepth: String?

    @Option(help: "limits.max_queued_bytes: bytes of requests waiting for or held by workers.")
    var maxQueuedBytes: String?

    @Option(help: "limits.max_frame_bytes.")
    var maxFrameBytes: String?

    @Option(help: "limits.max_frames.")
    var maxFrames: String?

    @Option(help: "limits.drain_timeout_seconds.")
    var drainTimeout: String?

    @Option(help: "limits.max_segments_per_request.")
    var maxSegments: String?

    @Option(help: "limits.max_compute_seconds (0: no limit).")
    var maxComputeSeconds: String?

    @Option(help: "limits.tenant_queue_percent: percent of the queue one tenant may take.")
    var tenantQueuePercent: String?

    @Option(help: "batching.window_ms.")
    var batchWindowMs: String?

    @Option(help: "batching.max_requests.")
    var maxBatch: String?

    @Option(help: "auth.server_secret_key_file: the daemon's CURVE secret key; tcp endpoints then require CURVE.")
    var serverSecretKeyFile: String?

    @Option(help: "auth.clients_file: TOML file mapping client keys and uids to tenants.")
    var clientsFile: String?

    @Option(help: "socket.mode: octal permission bits of ipc socket files (default 0660).")
    var socketMode: String?

    @Option(help: "socket.group: group owning ipc socket files.")
    var socketGroup: String?

    @Option(help: "metrics.listen: HOST:PORT of the Prometheus endpoint.")
    var metricsListen: String?

    @Option(help: "log.level: trace, debug, info, notice, warning, error or critical.")
    var logLevel: String?

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let sources: SettingsSources
        let settings: ServiceSettings
        do {
            sources = try SettingsSources(configurationFlag: config, flags: try settingAssignments(), environment: environment)
            settings = try sources.resolve()
        } catch {
            printError("lomad: \(error)")
            throw ExitCode(ServiceRuntime.configurationExitCode)
        }
        if printConfig {
            print(settings.tomlText, terminator: "")
            return
        }
        do {
            try ServiceRuntime(sources: sources, settings: settings, environment: environment).run()
        } catch is StartupFailure {
            throw ExitCode.failure
        }
    }
}

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}
