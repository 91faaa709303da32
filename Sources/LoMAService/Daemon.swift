import Foundation
import Logging
import LoMAModel
import LoMAOperations
import LoMAProtocol
import LoMARuntime
import LoMAStore
import Synchronization

/// One run of `lomad serve`, the daemon: loads the models and the store, serves them through a
/// `Server`, reloads on SIGHUP and stops on SIGTERM, telling systemd each step (`STATUS=`,
/// `READY=1`, `RELOADING=1`, `STOPPING=1`). Here rather than in the executable so that tests
/// can compose it (`lomad-test-daemon`).
public final class Daemon: Sendable {
    /// EX_CONFIG from sysexits.h: the unit's `RestartPreventExitStatus=` keeps systemd from
    /// restarting a daemon whose configuration is wrong, which would only fail again.
    public static let configurationExitCode: Int32 = 78

    private let sources: SettingsSources
    private let environment: [String: String]
    private let notifier: ServiceNotifier
    private let logLevel: LogLevelControl
    private let logger: Logger
    private let tenants = TenantDirectory(defaultTenant: CompressedMemoryStore.defaultTenant)
    private let brokerLoopHook: (@Sendable () -> Void)?
    private let state: Mutex<State>

    private struct State {
        var settings: ServiceSettings
        var server: Server?
        /// What the server bound (tcp ports resolved), for `systemctl status` after a reload.
        var bound: [String] = []
    }

    public convenience init(sources: SettingsSources, settings: ServiceSettings, environment: [String: String]) {
        self.init(sources: sources, settings: settings, environment: environment, brokerLoopHook: nil)
    }

    /// - Parameter brokerLoopHook: the seam tests stall the broker loop through (see `Server`);
    ///   package-internal, so no setting, flag or variable of `lomad` can arm it.
    package init(sources: SettingsSources, settings: ServiceSettings, environment: [String: String],
                 brokerLoopHook: (@Sendable () -> Void)?) {
        self.sources = sources
        self.brokerLoopHook = brokerLoopHook
        self.environment = environment
        notifier = ServiceNotifier(environment: environment)
        let logLevel = LogLevelControl(settings.logLevel)
        let format = ServiceLogHandler.Format.detect(environment: environment)
        LoggingSystem.bootstrap { label in ServiceLogHandler(label: label, format: format, level: logLevel) }
        self.logLevel = logLevel
        logger = Logger(label: "lomad")
        state = Mutex(State(settings: settings))
    }

    /// - Throws: `StartupFailure` when it could not start serving (the reason is logged).
    public func run() throws {
        // Before any other thread starts, so that every thread inherits the blocked signals.
        SignalWatcher.watch(onTermination: { [self] signal in stop(signal: signal) }, onReload: { [self] in reload() })
        let settings = state.withLock { $0.settings }
        // Before the connection limit is derived from it (ServiceSettings.serverConfiguration).
        let descriptors = DescriptorLimit.raiseToHardLimit()
        logger.info("open-file limit", metadata: ["descriptors": "\(descriptors.map(String.init) ?? "unlimited")"])
        let metrics = settings.metricsListen.isEmpty ? nil : ServiceMetrics.bootstrap()
        if settings.blasThreads > 0 { BLAS.setThreadCount(settings.blasThreads) }

        let server: Server
        let store: CompressedMemoryStore
        do {
            let registry = try loadModels(settings, metrics: metrics)
            applyTenants(try allowList(settings), settings)
            notifier.status("opening the \(settings.storeMode.rawValue) store")
            var storeSettings = storeConfiguration(settings)
            storeSettings.sharedTier = try SharedTierSetup.make(settings, models: try modelDirectories(settings), metrics: metrics, logger: logger)
            store = try CompressedMemoryStore(configuration: storeSettings)
            logger.info("store opened", metadata: ["mode": "\(settings.storeMode.rawValue)",
                                                   "ram_budget_bytes": "\(settings.storeRAMBudgetBytes)"])
            var configuration = try settings.serverConfiguration(defaultEndpoint: sources.defaultEndpoint)
            configuration.curveServer = try curveServer(settings, endpoints: configuration.endpoints)
            server = try Server(configuration: configuration, handler: OperationHandler(models: registry, store: store),
                                models: registry.infos, store: StoreReporting(store: store, mode: settings.storeMode.rawValue),
                                tenants: tenants, notifier: notifier, brokerLoopHook: brokerLoopHook, logger: logger)
            if let metrics {
                try metrics.serve(on: ListenAddress(parsing: settings.metricsListen), storeStatistics: { store.statistics },
                                  logger: logger)
            }
        } catch {
            logger.critical("lomad could not start", metadata: ["error": "\(error)"])
            throw StartupFailure()
        }
        // Expired sequences give their bytes and quota back without waiting for their names to be
        // written again; stopped before the store closes, so no purge runs on a closed store.
        let purger = settings.storePurgeInterval.map { ExpiryPurger(store: store, interval: $0, logger: logger) }
        purger?.start()
        defer {
            purger?.stop()
            metrics?.stop()
            store.close()
        }
        state.withLock { $0.server = server }
        do {
            notifier.status("binding \(server.configuration.endpoints.map(\.description).joined(separator: " "))")
            try server.run { [self] bound in state.withLock { $0.bound = bound } }
        } catch {
            logger.critical("lomad could not start", metadata: ["error": "\(error)"])
            throw StartupFailure()
        }
    }

    /// Each model's directory by name: what the shared tier fingerprints into model identities.
    private func modelDirectories(_ settings: ServiceSettings) throws -> [String: URL] {
        try settings.models.map { try ModelRegistry.Specification(parsing: $0) }
            .reduce(into: [:]) { $0[$1.name] = $1.directory }
    }

    /// Loads each model in turn, so `systemctl status` shows which one a slow start is on.
    private func loadModels(_ settings: ServiceSettings, metrics: ServiceMetrics?) throws -> ModelRegistry {
        let specifications = try settings.models.map { try ModelRegistry.Specification(parsing: $0) }
        if specifications.isEmpty {
            logger.warning("no model configured and the shipped model was not found; compress will answer not_found",
                           metadata: ["searched": "\(ShippedModel.candidates.map(\.path).joined(separator: " "))"])
        }
        var models: [ModelRegistry.Entry] = []
        for specification in specifications {
            notifier.status("loading model \(specification.name) (\(models.count + 1) of \(specifications.count))")
            let started = ContinuousClock.now
            let model: LlamaModel
            do {
                model = try LlamaModel.load(directory: specification.directory, options: settings.engineOptions)
            } catch {
                throw DaemonError("cannot load model '\(specification.name)' from \(specification.directory.path): \(error)")
            }
            let elapsed = ContinuousClock.now - started
            metrics?.recordModelLoad(name: specification.name, duration: elapsed)
            logger.info("model loaded", metadata: ["model": "\(specification.name)", "load_time": "\(elapsed)",
                                                   "weights": "\(model.weightFormat.rawValue)", "kernel": "\(model.kernel.rawValue)",
                                                   "weight_bytes": "\(model.weightBytes)"])
            models.append(ModelRegistry.Entry(name: specification.name, model: model, loadTime: elapsed))
        }
        return try ModelRegistry(models)
    }

    /// The clients file's contents; read at start and on SIGHUP, so an operator admits or
    /// removes a client, or changes a quota, without a restart.
    private func allowList(_ settings: ServiceSettings) throws -> ClientAllowList {
        settings.clientsFile.isEmpty ? ClientAllowList() : try ClientAllowList(contentsOf: URL(fileURLWithPath: settings.clientsFile))
    }

    private func applyTenants(_ allowList: ClientAllowList, _ settings: ServiceSettings) {
        tenants.update(allowList: allowList, defaultQuotaBytes: settings.tenantQuotaBytes)
        if !settings.clientsFile.isEmpty {
            logger.info("clients file loaded", metadata: ["path": "\(settings.clientsFile)", "tenants": "\(allowList.tenants.count)"])
        }
    }

    /// The CURVE keys when configured. A CURVE endpoint with nobody allowed in is a mistake the
    /// operator should hear about at start, not from clients that silently never connect.
    private func curveServer(_ settings: ServiceSettings, endpoints: [Endpoint]) throws -> CurveServerKeys? {
        guard !settings.serverSecretKeyFile.isEmpty else {
            if endpoints.contains(where: { $0.transport == .tcp }) {
                logger.warning("tcp endpoints are not authenticated: any peer that reaches them acts as the default tenant; set auth.server_secret_key_file")
            }
            return nil
        }
        guard !settings.clientsFile.isEmpty else {
            throw DaemonError("auth.server_secret_key_file is set but auth.clients_file is not: no client could connect over CURVE")
        }
        let keys = try CurveServerKeys(secretKeyFile: settings.serverSecretKeyFile)
        logger.info("CURVE on tcp endpoints", metadata: ["server_public_key": "\(keys.publicKey)"])
        return keys
    }

    private func storeConfiguration(_ settings: ServiceSettings) -> StoreConfiguration {
        let quantization: StoreConfiguration.Quantization = settings.storeQuantization == .int8 ? .int8PerChannel : .none
        let tenants = tenants
        let quota: StoreConfiguration.TenantQuota = { tenants.quotaBytes(of: $0) }
        guard settings.storeMode == .durable else {
            return StoreConfiguration(mode: .memory, ramBudgetBytes: settings.storeRAMBudgetBytes, quantization: quantization,
                                      tenantQuota: quota)
        }
        let directory = settings.storeDirectory.isEmpty ? defaultStoreDirectory : settings.storeDirectory
        return StoreConfiguration(mode: .durable(directory: URL(fileURLWithPath: directory)),
                                  ramBudgetBytes: settings.storeRAMBudgetBytes, mapSizeBytes: settings.storeMapSizeBytes,
                                  quantization: quantization, tenantQuota: quota)
    }

    /// systemd's `StateDirectory=`, then the XDG state directory.
    private var defaultStoreDirectory: String {
        if let state = environment["STATE_DIRECTORY"]?.split(separator: ":").first, !state.isEmpty { return String(state) }
        if let xdg = environment["XDG_STATE_HOME"], !xdg.isEmpty { return xdg + "/lomad" }
        return NSHomeDirectory() + "/.local/state/lomad"
    }

    private func stop(signal: Int32) {
        logger.info("received signal, shutting down", metadata: ["signal": "\(signal)"])
        guard let server = state.withLock({ $0.server }) else {
            // Still loading: nothing accepted yet, so nothing to drain.
            notifier.stopping()
            exit(0)
        }
        server.requestShutdown()
    }

    /// SIGHUP: reads the file, flags and environment again and applies what may change live
    /// (log level, limits, batching, drain timeout). Clients stay connected. Settings that need
    /// a restart are reported and left as they were; an invalid file changes nothing.
    private func reload() {
        notifier.reloading()
        let (current, server, bound) = state.withLock { ($0.settings, $0.server, $0.bound) }
        let serving = bound.isEmpty ? "starting" : "serving on \(bound.joined(separator: " "))"
        do {
            let new = try sources.resolve()
            let changed = new.changedKeys(comparedTo: current)
            let needRestart = changed.filter { !$0.reloadable }
            var applied = current
            for key in changed where key.reloadable { key.copy(from: new, into: &applied) }
            let clients = try allowList(applied)
            if let server {
                try server.reload(applied.serverConfiguration(defaultEndpoint: sources.defaultEndpoint))
            }
            applyTenants(clients, applied)
            logLevel.current = applied.logLevel
            state.withLock { $0.settings = applied }
            for key in changed where key.reloadable {
                logger.debug("setting changed", metadata: ["key": "\(key.name)", "value": "\(key.value(in: applied))"])
            }
            if !needRestart.isEmpty {
                logger.warning("configuration changes that need a restart were not applied",
                               metadata: ["keys": "\(needRestart.map(\.name).joined(separator: " "))"])
            }
            logger.info("configuration reloaded",
                        metadata: ["applied": "\(changed.filter(\.reloadable).map(\.name).joined(separator: " "))"])
            notifier.ready(status: serving)
        } catch {
            logger.error("configuration reload failed; the running configuration is kept", metadata: ["error": "\(error)"])
            notifier.ready(status: "\(serving); last reload failed: \(error)")
        }
    }
}
