import ArgumentParser
import Logging
import LoMAProtocol
import LoMAServer

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon in the foreground until SIGTERM or SIGINT.")

    @Option(name: .customLong("endpoint"), help: ArgumentHelp(
        "Endpoint to bind, ipc://PATH or tcp://HOST:PORT (port * picks a free one); repeatable.",
        discussion: "Default: \(Endpoint.defaultIPC)."))
    var endpoints: [String] = []

    @Option(name: .customLong("model"), help: ArgumentHelp(
        "Model to serve, NAME=DIR or DIR (named after the folder); repeatable.",
        valueName: "model"))
    var models: [String] = []

    @Option(help: "Compute worker threads.")
    var workers: Int = 2

    @Option(help: "Requests that may wait for a worker before new ones are refused as busy.")
    var queueDepth: Int = 64

    @Option(help: "Largest tensor frame accepted, in bytes.")
    var maxFrameBytes: Int = ProtocolLimits().maxFrameBytes

    @Option(help: "Most frames in one message, envelope included.")
    var maxFrames: Int = ProtocolLimits().maxFrames

    @Option(help: "Milliseconds a compress request may wait for others for its model to share one pass (0: never).")
    var batchWindowMs: Double = 2

    @Option(help: "Most compress requests one pass serves.")
    var maxBatch: Int = 16

    @Option(help: "Seconds to keep answering accepted requests after SIGTERM.")
    var drainTimeout: Int = 10

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel: String = "info"

    func validate() throws {
        guard Logger.Level(rawValue: logLevel) != nil else {
            throw ValidationError("--log-level '\(logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        guard workers >= 1 else { throw ValidationError("--workers must be at least 1") }
        guard queueDepth >= 0 else { throw ValidationError("--queue-depth must not be negative") }
        guard maxFrameBytes > 0 else { throw ValidationError("--max-frame-bytes must be positive") }
        guard (1...255).contains(maxFrames) else { throw ValidationError("--max-frames must be between 1 and 255") }
        guard batchWindowMs >= 0 else { throw ValidationError("--batch-window-ms must not be negative") }
        guard maxBatch >= 1 else { throw ValidationError("--max-batch must be at least 1") }
        guard drainTimeout >= 0 else { throw ValidationError("--drain-timeout must not be negative") }
    }

    func run() throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "lomad")

        let configuration = DaemonConfiguration(
            endpoints: try endpoints.isEmpty ? [Endpoint.defaultIPC] : endpoints.map { try Endpoint($0) },
            workers: workers,
            queueDepth: queueDepth,
            limits: ProtocolLimits(maxFrameBytes: maxFrameBytes, maxFrames: maxFrames),
            drainTimeout: .seconds(drainTimeout),
            batchWindow: .microseconds(Int(batchWindowMs * 1000)),
            maxBatchRequests: maxBatch)
        let registry: ModelRegistry
        do {
            registry = try ModelRegistry.load(try models.map { try ModelRegistry.Specification(parsing: $0) })
        } catch {
            logger.critical("lomad could not start", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        for name in registry.names { logger.info("model loaded", metadata: ["model": "\(name)"]) }
        let daemon = try Daemon(configuration: configuration, handler: ServiceHandler(models: registry),
                                models: registry.infos, logger: logger)
        SignalWatcher.onTermination { signal in
            logger.info("received signal, shutting down", metadata: ["signal": "\(signal)"])
            daemon.requestShutdown()
        }
        do {
            try daemon.run()
        } catch {
            logger.critical("lomad could not start", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}
