import ArgumentParser
import Foundation
import Logging
import LoMAProtocol
import LoMAServer
import LoMAStore

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the daemon in the foreground until SIGTERM or SIGINT.")

    @Option(name: .customLong("endpoint"), help: ArgumentHelp(
        "Endpoint to bind, ipc://PATH or tcp://HOST:PORT (port * picks a free one); repeatable.",
        discussion: "Default: \(Endpoint.defaultIPC)."))
    var endpoints: [String] = []

    @Option(name: .customLong("model"), help: ArgumentHelp(
        "Model to serve, NAME=DIR or DIR (named after the folder); repeatable.",
        discussion: "Default: the shipped Models/loma-tiny (see `ShippedModel`).",
        valueName: "model"))
    var models: [String] = []

    @Flag(help: "Keep the store on disk (LMDB in --store-dir): a write is acknowledged once committed, and a restart restores it.")
    var durable = false

    @Option(help: ArgumentHelp("Directory of the durable store (with --durable).",
                               discussion: "Default: $STATE_DIRECTORY (systemd), else $XDG_STATE_HOME/lomad, else ~/.local/state/lomad."))
    var storeDir: String?

    @Option(help: "Bytes of memory the store keeps in RAM (memory mode: all it may hold; durable: its cache).")
    var ramBudgetBytes: Int = 1 << 30

    @Option(help: "Most bytes the durable store may hold on disk (the LMDB map size).")
    var mapSizeBytes: Int = 64 << 30

    @Flag(help: "Store memory KV as int8 with a scale per channel (about 1/4 of the bytes; ~0.5% relative error).")
    var storeInt8 = false

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
        guard durable || storeDir == nil else { throw ValidationError("--store-dir is only used with --durable") }
        guard ramBudgetBytes > 0 else { throw ValidationError("--ram-budget-bytes must be positive") }
        guard mapSizeBytes > 0 else { throw ValidationError("--map-size-bytes must be positive") }
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
            var specifications = try models.map { try ModelRegistry.Specification(parsing: $0) }
            if specifications.isEmpty {
                if let shipped = ShippedModel.locate() {
                    specifications = [shipped]
                } else {
                    logger.warning("no --model given and the shipped model was not found; compress will answer not_found",
                                   metadata: ["searched": "\(ShippedModel.candidates.map(\.path).joined(separator: " "))"])
                }
            }
            registry = try ModelRegistry.load(specifications)
        } catch {
            logger.critical("lomad could not start", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        for name in registry.names { logger.info("model loaded", metadata: ["model": "\(name)"]) }
        let store: MemoryStore
        let mode = durable ? "durable" : "memory"
        do {
            store = try MemoryStore(configuration: storeConfiguration())
        } catch {
            logger.critical("lomad could not open its store", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
        logger.info("store opened", metadata: ["mode": "\(mode)", "ram_budget_bytes": "\(ramBudgetBytes)"])
        let daemon = try Daemon(configuration: configuration, handler: ServiceHandler(models: registry, store: store),
                                models: registry.infos, storeStatistics: { store.statistics.wire(mode: mode) },
                                logger: logger)
        SignalWatcher.onTermination { signal in
            logger.info("received signal, shutting down", metadata: ["signal": "\(signal)"])
            daemon.requestShutdown()
        }
        defer { store.close() }
        do {
            try daemon.run()
        } catch {
            logger.critical("lomad could not start", metadata: ["error": "\(error)"])
            throw ExitCode.failure
        }
    }
}

extension Serve {
    func storeConfiguration() -> StoreConfiguration {
        let quantization: StoreConfiguration.Quantization = storeInt8 ? .int8PerChannel : .none
        guard durable else {
            return StoreConfiguration(mode: .memory, ramBudgetBytes: ramBudgetBytes, quantization: quantization)
        }
        return StoreConfiguration(mode: .durable(directory: URL(fileURLWithPath: storeDir ?? Self.defaultStoreDirectory)),
                                  ramBudgetBytes: ramBudgetBytes, mapSizeBytes: mapSizeBytes, quantization: quantization)
    }

    /// systemd's `StateDirectory=`, then the XDG state directory.
    static var defaultStoreDirectory: String {
        let environment = ProcessInfo.processInfo.environment
        if let state = environment["STATE_DIRECTORY"], !state.isEmpty { return state }
        if let xdg = environment["XDG_STATE_HOME"], !xdg.isEmpty { return xdg + "/lomad" }
        return NSHomeDirectory() + "/.local/state/lomad"
    }
}
