import Foundation
import Logging
import LoMAProtocol
import ZeroMQ

/// What serves requests: a broker thread in front of a pool of worker threads, sharing one ZeroMQ
/// context, handing requests to a `RequestHandler`. `run` blocks the calling thread for the
/// server's whole life, so the daemon's main thread simply calls it; `requestShutdown` may be
/// called from any thread (a signal watcher).
///
/// Names: the *daemon* is one run of `lomad serve` (`Daemon`, in the service kit), which composes
/// a `Server` with the models, the store and the *service* concerns (settings, systemd, logs,
/// metrics: `ServiceSettings`, `ServiceNotifier`, ...).
public final class Server: Sendable {
    /// The configuration the server started with; `reload` changes what may change live.
    public let configuration: ServerConfiguration
    private let reloadable: ReloadableConfiguration
    private let notifier: ServiceNotifier
    private let handler: any RequestHandler
    private let models: [Loma_V1_ModelInfo]
    private let store: StoreReporting
    private let tenants: TenantDirectory
    private let logger: Logger
    private let context: ZMQContext
    private let endpoints = BrokerEndpoints(instance: UUID().uuidString)
    private let drainDeadline = DrainDeadline()
    private let handoff = RequestHandoff()
    private let brokerLoopHook: (@Sendable () -> Void)?

    /// - Parameters:
    ///   - store: the store's figures for the stats operation, read by the broker thread when a
    ///     client asks.
    ///   - tenants: which tenant each connection acts as, and the CURVE clients admitted.
    ///   - notifier: tells systemd when the daemon is ready and stopping, and feeds its watchdog
    ///     from the broker loop.
    public convenience init(configuration: ServerConfiguration, handler: any RequestHandler,
                            models: [Loma_V1_ModelInfo] = [], store: StoreReporting = .none, tenants: TenantDirectory,
                            notifier: ServiceNotifier = .disabled, logger: Logger) throws {
        try self.init(configuration: configuration, handler: handler, models: models, store: store, tenants: tenants,
                      notifier: notifier, brokerLoopHook: nil, logger: logger)
    }

    /// - Parameter brokerLoopHook: called by the broker thread at the top of every turn of its
    ///   loop. The seam through which tests make the loop stop turning (the watchdog and
    ///   connection-limit tests, through `lomad-test-daemon`); package-internal, so nothing an
    ///   operator configures can reach it.
    package init(configuration: ServerConfiguration, handler: any RequestHandler,
                 models: [Loma_V1_ModelInfo], store: StoreReporting, tenants: TenantDirectory,
                 notifier: ServiceNotifier, brokerLoopHook: (@Sendable () -> Void)?, logger: Logger) throws {
        try Self.validate(configuration)
        self.configuration = configuration
        self.reloadable = ReloadableConfiguration(configuration)
        self.notifier = notifier
        self.handler = handler
        self.models = models
        self.store = store
        self.tenants = tenants
        self.logger = logger
        self.brokerLoopHook = brokerLoopHook
        self.context = try ZMQContext(ioThreads: 1)
    }

    /// The checks both start-up and reload make, so a reload cannot bring in what start-up refuses.
    private static func validate(_ configuration: ServerConfiguration) throws {
        guard configuration.workers > 0 else { throw DaemonError("workers must be at least 1, not \(configuration.workers)") }
        guard configuration.queueDepth >= 0 else { throw DaemonError("queue depth must not be negative") }
        // The backend's part headers count frames in one byte.
        guard (1...255).contains(configuration.limits.maxFrames) else {
            throw DaemonError("max frames must be between 1 and 255, not \(configuration.limits.maxFrames)")
        }
        guard configuration.maxBatchRequests >= 1, configuration.maxBatchRequests <= 255 else {
            throw DaemonError("max batch requests must be between 1 and 255")
        }
        guard !configuration.endpoints.isEmpty else { throw DaemonError("no endpoint to serve on") }
        guard configuration.maxReplyBytes >= 1 else { throw DaemonError("max reply bytes must be at least 1") }
        guard configuration.handshakeTimeout > .zero else { throw DaemonError("the handshake timeout must be positive") }
        try validateConnectionLimit(configuration.maxConnections)
        guard configuration.maxConnectionsPerPeer >= 1 else { throw DaemonError("limits.max_connections_per_peer must be at least 1") }
    }

    /// A connection limit the open-file limit cannot carry would let libzmq reach `EMFILE`, which
    /// aborts the daemon (see `DescriptorLimit`), so it is refused at start with what would fit.
    private static func validateConnectionLimit(_ maxConnections: Int) throws {
        let largest = DescriptorLimit.largestSafeMaxConnections
        guard largest >= 1 else {
            throw DaemonError("the open-file limit (\(DescriptorLimit.current ?? 0)) leaves no descriptors for client connections; "
                              + "lomad needs at least \(DescriptorLimit.reserved + 2 * DescriptorLimit.monitorBacklog + 1) (raise LimitNOFILE= or ulimit -n)")
        }
        guard maxConnections >= 1 else { throw DaemonError("limits.max_connections must be at least 1, not \(maxConnections)") }
        guard maxConnections <= largest else {
            throw DaemonError("limits.max_connections = \(maxConnections) needs more descriptors than the open-file limit "
                              + "(\(DescriptorLimit.current ?? 0)) allows: at most \(largest) (raise LimitNOFILE= or ulimit -n, or lower it)")
        }
    }

    /// Binds every endpoint, gives ipc socket files their configured mode and group, starts the
    /// workers, tells systemd `READY=1`, calls `onReady` with the bound endpoints (tcp ports
    /// resolved), and serves until `requestShutdown`. Accepted requests are answered before it
    /// returns, and ipc socket files are removed.
    /// - Throws: `DaemonError` or `ZMQError` when an endpoint cannot be bound.
    public func run(onReady: @Sendable ([String]) -> Void = { _ in }) throws {
        let ipcPaths = configuration.endpoints.compactMap(\.ipcPath)
        for path in ipcPaths { try IPCSocketFile.claim(path) }

        let configuration = configuration, endpoints = endpoints, models = models, logger = logger, context = context
        let store = store, tenants = tenants, reloadable = reloadable, notifier = notifier, drainDeadline = drainDeadline
        let brokerLoopHook = brokerLoopHook, handoff = handoff, handler = handler
        let authenticator: JoinableThread
        do {
            authenticator = try startAuthenticator()
        } catch {
            context.terminate()
            for path in ipcPaths { IPCSocketFile.remove(path) }
            throw error
        }

        let started = Handoff<Result<[String], any Error>>()
        let brokerThread = JoinableThread(name: "lomad-broker") {
            let broker: Broker
            do {
                broker = try Broker(context: context, reloadable: reloadable, endpoints: endpoints,
                                    models: models, store: store, handler: handler, tenants: tenants, notifier: notifier,
                                    drainDeadline: drainDeadline, handoff: handoff, loopHook: brokerLoopHook,
                                    logger: logger)
                for path in ipcPaths { try IPCSocketFile.apply(configuration.socketPermissions, to: path) }
            } catch {
                started.put(.failure(error))
                return
            }
            defer { broker.close() }
            started.put(.success(broker.boundEndpoints))
            do {
                try broker.run()
            } catch let error as ZMQError where error.isTerminated {
            } catch {
                logger.critical("broker stopped on an unexpected error", metadata: ["error": "\(error)"])
            }
        }
        let bound: [String]
        switch started.take() {
        case .success(let endpoints):
            bound = endpoints
        case .failure(let error):
            brokerThread.join()
            context.shutdown()
            authenticator.join()
            context.terminate()
            for path in ipcPaths { IPCSocketFile.remove(path) }
            throw error
        }

        let workers = (0..<configuration.workers).map { index in
            let worker = Worker(context: context, endpoints: endpoints, handoff: handoff, handler: handler,
                                reloadable: reloadable, drainDeadline: drainDeadline, now: { ContinuousClock.now },
                                logger: logger)
            return JoinableThread(name: "lomad-worker-\(index)") { worker.run() }
        }
        logger.info("serving", metadata: [
            "endpoints": "\(bound.joined(separator: " "))", "workers": "\(configuration.workers)",
            "version": "\(DaemonVersion.current)",
        ])
        notifier.ready(status: "serving on \(bound.joined(separator: " "))")
        onReady(bound)

        brokerThread.join()
        // The broker has answered every request it will; whatever pass still runs (the broker
        // stopped on an error, or a pass outran the grace after the deadline) stops at its next
        // layer, so joining the workers takes at most one layer's work.
        drainDeadline.markPassed()
        context.shutdown()
        for worker in workers { worker.join() }
        authenticator.join()
        context.terminate()
        for path in ipcPaths { IPCSocketFile.remove(path) }
        logger.info("stopped")
    }

    /// Binds the authentication handler on its own thread and returns once it is bound, so no
    /// endpoint is ever up without it (libzmq would then admit every CURVE key, and take a plain
    /// client's own handshake metadata as its user id).
    private func startAuthenticator() throws -> JoinableThread {
        let bound = Handoff<Result<Void, any Error>>()
        let context = context, tenants = tenants, logger = logger
        let thread = JoinableThread(name: "lomad-zap") {
            let authenticator: ZAPAuthenticator
            do {
                authenticator = try ZAPAuthenticator(context: context, directory: tenants, logger: logger)
            } catch {
                bound.put(.failure(error))
                return
            }
            bound.put(.success(()))
            authenticator.run()
        }
        if case .failure(let error) = bound.take() {
            thread.join()
            throw error
        }
        return thread
    }

    /// Asks the broker to stop taking requests, answer the accepted ones and return from `run`.
    /// Safe from any thread, any number of times.
    public func requestShutdown() {
        notifier.stopping()
        sendControl(.stop)
    }

    /// Applies what may change while clients stay connected (limits, queue depth, batching,
    /// drain timeout); the rest of `configuration` is ignored. Safe from any thread.
    /// - Throws: `DaemonError` naming the setting when the new configuration is invalid; the
    ///   running one is then kept.
    public func reload(_ configuration: ServerConfiguration) throws {
        try Self.validate(configuration)
        reloadable.update(configuration)
        sendControl(.reload)
    }

    /// The configuration in force now, reloads included.
    public var currentConfiguration: ServerConfiguration { reloadable.current }

    private func sendControl(_ message: BrokerControl) {
        do {
            let socket = try ZMQSocket(context: context, type: .push)
            defer { socket.close() }
            try socket.setLinger(100)
            try socket.connect(endpoints.control)
            try socket.send(ZMQFrame(bytes: [UInt8](message.rawValue.utf8)), dontWait: true)
        } catch {
            // The context is already terminated: the daemon has stopped.
        }
    }
}
