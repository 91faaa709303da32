#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Logging
import LoMAProtocol
import ZeroMQ

/// The load-balancing broker (zguide chapter 3): one thread owns the client-facing ROUTER and the
/// inproc ROUTER the workers connect to, keeps the least-recently-used idle workers in a queue,
/// and hands requests to them. It is the one place that validates envelopes, applies limits,
/// answers "busy" and keeps stats, so workers only ever see well-formed requests. Compress
/// requests for the same model are grouped so that one pass serves several.
final class Broker {
    private var configuration: ServerConfiguration
    private let reloadable: ReloadableConfiguration
    private var healthTemplate: Loma_V1_HealthReply
    private let store: StoreReporting
    /// Answers the requests it says it serves on the broker (`RequestHandler.servesOnBroker`).
    private let handler: any RequestHandler
    private let tenants: TenantDirectory
    private let logger: Logger
    private let frontend: ZMQSocket
    private let backend: ZMQSocket
    private let control: ZMQSocket
    private let connections: ConnectionGate
    /// The `ZMQ_MAXMSGSIZE` the endpoints were bound with. libzmq copies socket options into each
    /// listener at bind, so a reload cannot change it; health reports this, what is enforced.
    private let enforcedHardMaxFrameBytes: Int
    private let replyBudget = ReplyBudget()
    /// Where dispatched requests wait, decoded, for their workers.
    private let handoff: RequestHandoff
    /// Endpoints actually bound, with `tcp://host:*` resolved to the port the kernel chose.
    private(set) var boundEndpoints: [String] = []
    /// Gives memory freed after a burst back to the OS when the daemon goes idle.
    private let allocatorTrim = AllocatorTrim()

    private var idleWorkers: [[UInt8]] = []
    /// The requests each worker holds, in the order it answers them.
    private var inFlightByWorker: [[UInt8]: [InFlightRequest]] = [:]
    /// Bytes of request frames waiting in `pending` or held by workers: what
    /// `maxQueuedBytes` bounds.
    private var heldBytes = 0
    private var busyWorkers = 0
    private var pending = PendingQueue()
    private var stats = BrokerStats()
    private var drainStartedAt: ContinuousClock.Instant?
    /// Set when the drain timeout passes: running passes then stop at their next layer.
    private let drainDeadline: DrainDeadline
    private var watchdog: BrokerWatchdog?
    /// Called at the top of every loop iteration (`Server`'s broker loop hook); nil in lomad.
    private let loopHook: (@Sendable () -> Void)?

    /// Creates and binds the broker's sockets. Runs on the broker thread, which then owns them.
    init(context: ZMQContext, reloadable: ReloadableConfiguration, endpoints: BrokerEndpoints,
         models: [Loma_V1_ModelInfo], store: StoreReporting, handler: any RequestHandler, tenants: TenantDirectory,
         notifier: ServiceNotifier, drainDeadline: DrainDeadline, handoff: RequestHandoff,
         loopHook: (@Sendable () -> Void)? = nil, logger: Logger) throws {
        let configuration = reloadable.current
        self.handoff = handoff
        self.loopHook = loopHook
        self.drainDeadline = drainDeadline
        self.configuration = configuration
        self.reloadable = reloadable
        self.store = store
        self.handler = handler
        self.tenants = tenants
        self.logger = logger
        watchdog = BrokerWatchdog(notifier: notifier)
        var health = Loma_V1_HealthReply()
        health.version = DaemonVersion.current
        health.protocolVersion = ProtocolVersion.current
        health.models = models
        healthTemplate = health

        enforcedHardMaxFrameBytes = configuration.limits.hardMaxFrameBytes
        frontend = try ZMQSocket(context: context, type: .router)
        backend = try ZMQSocket(context: context, type: .router)
        control = try ZMQSocket(context: context, type: .pull)
        do {
            connections = try ConnectionGate(monitoring: frontend, endpoint: endpoints.connectionEvents, context: context,
                                             maxConnections: configuration.maxConnections,
                                             maxPerPeer: configuration.maxConnectionsPerPeer, logger: logger)
        } catch {
            frontend.close()
            backend.close()
            control.close()
            throw error
        }
        describeLimitsInHealth()
        do {
            try frontend.setRouterMandatory(true)
            try frontend.setMaxMessageSize(Int64(enforcedHardMaxFrameBytes))
            try frontend.setSendHighWaterMark(configuration.sendHighWaterMark)
            try frontend.setReceiveHighWaterMark(configuration.receiveHighWaterMark)
            try frontend.setLinger(1000)
            try frontend.setHeartbeat(interval: 5000, timeout: 15000, ttl: 30000)
            try frontend.setHandshakeInterval(Int32(clamping: Int64((configuration.handshakeTimeout.seconds * 1000).rounded(.up))))
            try backend.setRouterMandatory(true)
            try backend.setLinger(0)
            try control.setLinger(0)
            try backend.bind(endpoints.workers)
            try control.bind(endpoints.control)
            var bound: [String] = []
            for endpoint in configuration.endpoints {
                try applySecurity(for: endpoint, curve: configuration.curveServer)
                try frontend.bind(endpoint.description)
                bound.append(try frontend.lastEndpoint)
            }
            boundEndpoints = bound
        } catch {
            close()
            throw error
        }
    }

    /// libzmq copies a socket's security options into each endpoint when it is bound, so one
    /// ROUTER serves CURVE on tcp and plain ZMTP on ipc, whose clients the kernel identifies
    /// (uid) and whose socket file's permissions already decide who may connect. Every endpoint
    /// gets a ZAP domain naming its transport, so the authentication handler judges every
    /// connection, plain ones too (see `ZAPAuthenticator`).
    private func applySecurity(for endpoint: Endpoint, curve: CurveServerKeys?) throws {
        try frontend.setZapDomain((endpoint.transport == .tcp ? ZAPDomain.tcp : ZAPDomain.ipc).rawValue)
        if let curve, endpoint.transport == .tcp {
            try frontend.setCurveServer(true)
            try frontend.setCurveKeys(publicKey: curve.publicKey, secretKey: curve.secretKey)
        } else {
            try frontend.setCurveServer(false)
        }
    }

    /// The limits a health reply reports: the ones in force now.
    private func describeLimitsInHealth() {
        healthTemplate.limits.maxFrameBytes = UInt64(configuration.limits.maxFrameBytes)
        healthTemplate.limits.hardMaxMessageBytes = UInt64(enforcedHardMaxFrameBytes)
        healthTemplate.limits.maxFrames = UInt32(clamping: configuration.limits.maxFrames)
        healthTemplate.limits.queueDepth = UInt32(clamping: configuration.queueDepth)
        healthTemplate.limits.maxQueuedBytes = UInt64(configuration.maxQueuedBytes)
        healthTemplate.limits.workers = UInt32(clamping: configuration.workers)
        healthTemplate.limits.maxConnections = UInt32(clamping: configuration.maxConnections)
        healthTemplate.limits.maxConnectionsPerPeer = UInt32(clamping: configuration.maxConnectionsPerPeer)
        healthTemplate.limits.maxReplyBytes = UInt64(configuration.maxReplyBytes)
        healthTemplate.limits.maxSegmentsPerRequest = UInt32(clamping: configuration.maxSegmentsPerRequest)
        healthTemplate.limits.maxComputeSeconds = configuration.maxComputeTime?.seconds ?? 0
        healthTemplate.limits.sharedMemoryMaxBytes = UInt64(configuration.sharedMemoryMaxBytes)
    }

    func close() {
        connections.close()
        frontend.close()
        backend.close()
        control.close()
    }

    /// Serves until asked to stop and every accepted request is answered (or the drain timeout
    /// passes), then returns. Throws only for failures of the broker's own sockets.
    func run() throws {
        let items = [
            PollItem(socket: control, events: .readable),
            PollItem(socket: backend, events: .readable),
            PollItem(socket: frontend, events: .readable),
            PollItem(socket: connections.events, events: .readable),
        ]
        while !isDone {
            watchdog?.pingIfDue()
            loopHook?()
            let ready = try ZMQPoller.poll(items, timeout: pollTimeout)
            if ready[0].contains(.readable) { try handleControl() }
            if ready[1].contains(.readable) { try handleBackend() }
            if ready[2].contains(.readable) { try handleFrontend() }
            if ready[3].contains(.readable) { try connections.handleEvents() }
            dispatchPending()
            abandonPendingIfDrainTimedOut()
            stats.recordLoad(queueDepth: pending.count, busyWorkers: busyWorkers)
            allocatorTrim.note(queued: pending.count, busyWorkers: busyWorkers)
        }
        answerRequestsStillRunning()
        logger.info("broker stopped", metadata: ["undeliverable_replies": "\(stats.undeliverableReplies)"])
    }

    /// Until the next watchdog ping, the oldest batch may go, or a drain deadline check;
    /// forever when idle and unwatched.
    private var pollTimeout: Duration? {
        let now = ContinuousClock.now
        var deadlines: [ContinuousClock.Instant] = []
        if let watchdog { deadlines.append(watchdog.nextPing) }
        if drainStartedAt != nil { deadlines.append(now + .milliseconds(50)) }
        if !idleWorkers.isEmpty, let oldest = pending.oldestBatchableArrival {
            deadlines.append(oldest + configuration.batchWindow)
        }
        return deadlines.min().map { max(.zero, $0 - now) }
    }

    private var isDone: Bool {
        guard let drainStartedAt else { return false }
        if pending.isEmpty && busyWorkers == 0 { return true }
        return ContinuousClock.now - drainStartedAt > configuration.drainTimeout + .seconds(1)
    }

    // MARK: control

    private func handleControl() throws {
        guard let frames = try control.receiveMessage(), let first = frames.first else { return }
        switch BrokerControl(rawValue: String(decoding: first.bytes, as: UTF8.self)) {
        case .reload:
            applyReload()
        case .stop, nil:
            startDraining()
        }
    }

    private func applyReload() {
        configuration = reloadable.current
        describeLimitsInHealth()
        if configuration.limits.maxFrameBytes > enforcedHardMaxFrameBytes {
            logger.warning("libzmq keeps dropping connections that send frames over the hard limit the endpoints were bound with; restart to raise it",
                           metadata: ["max_frame_bytes": "\(configuration.limits.maxFrameBytes)",
                                      "hard_max_frame_bytes": "\(enforcedHardMaxFrameBytes)"])
        }
        logger.info("broker settings reloaded", metadata: [
            "max_frame_bytes": "\(configuration.limits.maxFrameBytes)", "max_frames": "\(configuration.limits.maxFrames)",
            "queue_depth": "\(configuration.queueDepth)", "max_queued_bytes": "\(configuration.maxQueuedBytes)",
            "max_batch": "\(configuration.maxBatchRequests)", "batch_window": "\(configuration.batchWindow)", "drain_timeout": "\(configuration.drainTimeout)",
        ])
    }

    private func startDraining() {
        guard drainStartedAt == nil else { return }
        drainStartedAt = .now
        logger.info("shutting down: answering accepted requests", metadata: [
            "pending": "\(pending.count)", "busy_workers": "\(busyWorkers)",
        ])
    }

    /// At the drain deadline: requests still waiting are answered UNAVAILABLE here, and running
    /// passes are told to stop, so their workers answer UNAVAILABLE within one layer's work.
    private func abandonPendingIfDrainTimedOut() {
        guard let drainStartedAt, ContinuousClock.now - drainStartedAt > configuration.drainTimeout else { return }
        if !drainDeadline.hasPassed {
            drainDeadline.markPassed()
            logger.info("drain timeout passed: cancelling running passes", metadata: ["busy_workers": "\(busyWorkers)"])
        }
        for request in pending.removeAll() {
            heldBytes -= request.byteCount
            reply(to: request.route, operation: request.operation, requestID: request.requestID, arrival: request.arrival,
                  error: .unavailable("lomad is shutting down and this request did not reach a worker in time"))
        }
    }

    /// The broker is about to stop: a request a worker still holds (a pass that outran the grace
    /// after the drain deadline, or a store write in progress) gets UNAVAILABLE now, so no client
    /// is ever left without a reply. Its worker's own reply, if it ever comes, finds no broker.
    private func answerRequestsStillRunning() {
        for (worker, held) in inFlightByWorker {
            for request in held {
                heldBytes -= request.byteCount
                reply(to: request.route, operation: request.operation, requestID: request.requestID, arrival: request.arrival,
                      error: .unavailable("lomad is stopping and this request's work did not end by the drain deadline; retry against another instance or after restart"))
            }
            inFlightByWorker[worker] = nil
        }
    }

    /// The refusal for a request of `tenant` when it already holds its share of the queue
    /// (`limits.tenant_queue_percent` of the depth); nil when it may wait. Idle workers count as
    /// room, as they do for the whole queue, since a request for one goes at once. A daemon with
    /// one tenant (no clients file naming any) has nobody to share with and keeps the whole queue.
    private func tenantShareRefusal(_ tenant: String) -> StatusError? {
        guard tenants.hasSeveralTenants else { return nil }
        let limit = configuration.tenantQueueLimit
        let waiting = pending.count(of: tenant)
        guard waiting >= limit + idleWorkers.count else { return nil }
        return .resourceExhausted(
            "lomad is busy: tenant '\(tenant)' already has \(waiting) requests waiting, its share of the queue (limits.tenant_queue_percent \(configuration.tenantQueuePercent)% of \(configuration.queueDepth)); retry later")
    }

    // MARK: workers

    private func handleBackend() throws {
        guard var frames = try backend.receiveMessage(), frames.count >= 2 else { return }
        let worker = frames[0].bytes
        guard let header = BackendHeader(frames[1].bytes) else {
            logger.error("worker sent a message without a valid header; dropped")
            return
        }
        frames.removeFirst(2)
        switch header.kind {
        case .ready:
            idleWorkers.append(worker)
        case .reply:
            let operation = Operation(rawValue: header.operation) ?? .unknown
            var held: InFlightRequest?
            if inFlightByWorker[worker]?.isEmpty == false { held = inFlightByWorker[worker]?.removeFirst() }
            heldBytes -= held?.byteCount ?? 0
            let arrival = held?.arrival ?? .now
            let routeCount = Int(header.count)
            if frames.count > routeCount {
                deliverWorkerReply(frames, routeCount: routeCount, operation: operation, status: header.status, arrival: arrival)
            } else {
                stats.record(operation, Loma_V1_StatusCode(rawValue: Int(header.status)) ?? .internal, arrival: arrival)
                logger.error("worker reply has no application frames; dropped", metadata: ["operation": "\(operation)"])
            }
            if header.workerIdle {
                busyWorkers -= 1
                idleWorkers.append(worker)
            }
        case .requests:
            logger.error("worker sent a request; dropped")
        }
    }

    /// Hands waiting requests to idle workers, oldest first. A compress request waits up to the
    /// batch window for others for its model, unless its batch is full or the daemon is draining.
    private func dispatchPending() {
        let now = ContinuousClock.now
        let waitForBatches = drainStartedAt == nil && configuration.batchWindow > .zero
        while !idleWorkers.isEmpty, let batch = pending.takeNextBatch(
            maxRequests: configuration.maxBatchRequests,
            isReady: { oldest, size in
                !waitForBatches || size >= self.configuration.maxBatchRequests || now - oldest >= self.configuration.batchWindow
            }) {
            dispatch(batch)
        }
    }

    private func dispatch(_ batch: [PendingRequest]) {
        let worker = idleWorkers.removeFirst()
        var message = [ZMQFrame(bytes: worker), ZMQFrame(bytes: BackendHeader(kind: .requests, count: UInt8(batch.count)).bytes)]
        var tickets: [UInt64] = []
        for request in batch {
            let ticket = handoff.deposit(HandedOffRequest(message: request.message, peerUID: request.peerUID))
            tickets.append(ticket)
            message.append(ZMQFrame(bytes: BackendPartHeader(routeFrames: request.route.count, ticket: ticket,
                                                             tenant: request.tenant).bytes))
            message += request.route
        }
        do {
            try backend.send(message)
            inFlightByWorker[worker, default: []] += batch.map {
                InFlightRequest(route: $0.route, operation: $0.operation, requestID: $0.requestID, arrival: $0.arrival,
                                byteCount: $0.byteCount)
            }
            busyWorkers += 1
            if batch.first?.batchKey != nil { stats.recordBatch(size: batch.count) }
        } catch {
            // A worker only disappears when the context terminates.
            logger.error("could not hand requests to a worker", metadata: ["error": "\(error)"])
            for ticket in tickets { _ = handoff.take(ticket) }
            for request in batch {
                heldBytes -= request.byteCount
                reply(to: request.route, operation: request.operation, requestID: request.requestID, arrival: request.arrival,
                      error: .unavailable("lomad could not hand the request to a worker"))
            }
        }
    }

    // MARK: clients

    private func handleFrontend() throws {
        guard var frames = try frontend.receiveMessage(), !frames.isEmpty else { return }
        let arrival = ContinuousClock.now
        // DEALER clients put their application frames right after the identity; REQ clients (and
        // DEALERs that mimic them) put an empty delimiter first, which must be echoed back.
        let routeCount = frames.count >= 3 && frames[1].count == 0 ? 2 : 1
        let route = Array(frames.prefix(routeCount))
        frames.removeFirst(min(routeCount, frames.count))

        let request: DecodedMessage<Loma_V1_Request>
        do {
            request = try DecodedMessage(frames: frames, limits: configuration.limits)
        } catch {
            reply(to: route, operation: .unknown, requestID: 0, arrival: arrival, error: error as? StatusError ?? .invalidArgument("\(error)"))
            return
        }
        let operation = Operation(request.envelope.operation)
        let requestID = request.envelope.requestID
        guard let tenant = frames.first.flatMap(tenants.tenant(of:)) else {
            // Only a connection the authentication handler never saw lacks a sealed user id.
            reply(to: route, operation: operation, requestID: requestID, arrival: arrival,
                  error: StatusError(.unauthenticated, "this connection was not authenticated by lomad; reconnect"))
            return
        }

        var batchKey: String?
        switch request.envelope.operation {
        case .health:
            var health = healthTemplate
            health.uptimeSeconds = stats.uptimeSeconds
            health.tenant = tenant
            // The share applies only while the clients file names a tenant, which SIGHUP can change.
            health.limits.tenantQueuePercent = tenants.hasSeveralTenants ? UInt32(clamping: configuration.tenantQueuePercent) : 0
            reply(to: route, operation: operation, requestID: requestID, arrival: arrival, result: .health(health))
            return
        case .stats:
            var snapshot = stats.reply(queueDepth: pending.count, busyWorkers: busyWorkers, workers: configuration.workers)
            if let statistics = store.statistics() { snapshot.store = statistics }
            snapshot.heldRequestBytes = UInt64(heldBytes)
            snapshot.connections = UInt32(clamping: connections.openConnections)
            snapshot.refusedConnections = connections.refused
            snapshot.heldReplyBytes = UInt64(replyBudget.heldBytes)
            snapshot.refusedReplies = replyBudget.refused
            snapshot.tenant.name = tenant
            snapshot.tenant.bytes = UInt64(store.tenantBytes(tenant))
            snapshot.tenant.quotaBytes = UInt64(tenants.quotaBytes(of: tenant) ?? 0)
            reply(to: route, operation: operation, requestID: requestID, arrival: arrival, result: .stats(snapshot))
            return
        case nil:
            let error: StatusError = request.envelope.unknownFields.data.isEmpty
                ? .invalidArgument("the request envelope names no operation")
                : .unimplemented("the request names an operation this lomad (protocol \(ProtocolVersion.current)) does not know")
            reply(to: route, operation: operation, requestID: requestID, arrival: arrival, error: error)
            return
        case .compress(let compress):
            // Requests on a sequence read and extend stored memory; they go alone so that each
            // sees the memory the previous one appended.
            batchKey = compress.sequence.isEmpty ? compress.model : nil
        default:
            break
        }

        let peerUID = frames.first.flatMap(tenants.localUID(of:))
        let sharedBytes: Int
        do {
            sharedBytes = try SharedMemoryAdmission.inputBytes(of: request.envelope, peerUID: peerUID,
                                                               limit: configuration.sharedMemoryMaxBytes)
        } catch {
            reply(to: route, operation: operation, requestID: requestID, arrival: arrival, error: StatusError(describing: error))
            return
        }
        // Input the worker will copy out of shared memory is held like frames are.
        let byteCount = frames.reduce(0) { $0 + $1.count } + sharedBytes
        if drainStartedAt != nil {
            reply(to: route, operation: operation, requestID: requestID, arrival: arrival,
                  error: .unavailable("lomad is shutting down; retry against another instance or after restart"))
        } else if !request.envelope.hasSharedMemory && handler.servesOnBroker(request.envelope) {
            // Shared memory is read and written by workers only: a segment's copy stays off the
            // broker thread.
            serveOnBroker(request, route: route, operation: operation, tenant: tenant, arrival: arrival)
        } else if pending.count >= configuration.queueDepth + idleWorkers.count {
            reply(to: route, operation: operation, requestID: requestID, arrival: arrival, error: .resourceExhausted(
                "lomad is busy: \(pending.count) requests already wait for \(configuration.workers) workers; retry later"))
        } else if let refusal = tenantShareRefusal(tenant) {
            reply(to: route, operation: operation, requestID: requestID, arrival: arrival, error: refusal)
        } else if heldBytes + byteCount > configuration.maxQueuedBytes {
            let error: StatusError = byteCount > configuration.maxQueuedBytes
                ? .resourceExhausted("this request's \(byteCount) bytes exceed limits.max_queued_bytes (\(configuration.maxQueuedBytes)); send fewer segments per request")
                : .resourceExhausted("lomad is busy: requests already hold \(heldBytes) of the \(configuration.maxQueuedBytes) bytes limits.max_queued_bytes allows; retry later")
            reply(to: route, operation: operation, requestID: requestID, arrival: arrival, error: error)
        } else {
            heldBytes += byteCount
            pending.append(PendingRequest(route: route, message: request, operation: operation, requestID: requestID,
                                          batchKey: batchKey, arrival: arrival, tenant: tenant, byteCount: byteCount,
                                          peerUID: peerUID))
        }
    }

    /// Answers a request the handler serves without a worker (a store read or write in RAM): the
    /// same handler and reply encoding a worker would use, under the segment limit in force, and
    /// the reply limit like any worker reply. Nothing is queued, so nothing is held.
    private func serveOnBroker(_ request: DecodedMessage<Loma_V1_Request>, route: [ZMQFrame], operation: Operation,
                               tenant: String, arrival: ContinuousClock.Instant) {
        let budget = ComputeBudget(maxSegments: configuration.maxSegmentsPerRequest, stopReason: { nil })
        let outcome = handler.outcome(of: ClientRequest(message: request, tenant: tenant, budget: budget))
        let (status, frames) = ReplyEncoding.frames(requestID: request.envelope.requestID, outcome: outcome,
                                                    operation: operation, logger: logger)
        guard !frames.isEmpty else {
            stats.record(operation, .internal, arrival: arrival)
            logger.error("reply served on the broker has no frames; dropped", metadata: ["operation": "\(operation)"])
            return
        }
        deliverWorkerReply(route + frames, routeCount: route.count, operation: operation,
                           status: UInt8(clamping: status.rawValue), arrival: arrival)
    }

    private func reply(to route: [ZMQFrame], operation: Operation, requestID: UInt64, arrival: ContinuousClock.Instant,
                       error: StatusError) {
        var envelope = Loma_V1_Reply()
        envelope.requestID = requestID
        envelope.status = error.status
        stats.record(operation, error.code, arrival: arrival)
        send(route: route, envelope: envelope)
    }

    private func reply(to route: [ZMQFrame], operation: Operation, requestID: UInt64, arrival: ContinuousClock.Instant,
                       result: Loma_V1_Reply.OneOf_Result) {
        var envelope = Loma_V1_Reply()
        envelope.requestID = requestID
        envelope.status.code = .ok
        envelope.result = result
        stats.record(operation, .ok, arrival: arrival)
        send(route: route, envelope: envelope)
    }

    private func send(route: [ZMQFrame], envelope: Loma_V1_Reply) {
        guard !route.isEmpty else { return }
        do {
            deliver(route + (try OutgoingMessage().frames(envelope: envelope)), routeCount: route.count)
        } catch {
            logger.error("could not encode a reply", metadata: ["error": "\(error)"])
        }
    }

    /// Forwards a worker's reply (or one served on the broker), unless the replies clients have not read yet would then pass
    /// `maxReplyBytes`: the client gets a small RESOURCE_EXHAUSTED in its place (its request's
    /// work is lost; it may retry once it reads what it was sent).
    private func deliverWorkerReply(_ frames: [ZMQFrame], routeCount: Int, operation: Operation, status: UInt8,
                                    arrival: ContinuousClock.Instant) {
        let size = frames[routeCount...].reduce(0) { $0 + $1.count }
        guard !replyBudget.admits(size, limit: configuration.maxReplyBytes) else {
            stats.record(operation, Loma_V1_StatusCode(rawValue: Int(status)) ?? .internal, arrival: arrival)
            deliver(frames, routeCount: routeCount)
            return
        }
        replyBudget.recordRefusal()
        let requestID = (try? Loma_V1_Reply(serializedBytes: frames[routeCount].bytes))?.requestID ?? 0
        let held = replyBudget.heldBytes
        let error: StatusError = size > configuration.maxReplyBytes
            ? .resourceExhausted("this reply's \(size) bytes exceed limits.max_reply_bytes (\(configuration.maxReplyBytes)); ask for less per request")
            : .resourceExhausted("lomad already holds \(held) of the \(configuration.maxReplyBytes) bytes of unread replies limits.max_reply_bytes allows; read replies, then retry")
        reply(to: Array(frames.prefix(routeCount)), operation: operation, requestID: requestID, arrival: arrival, error: error)
    }

    /// Sends a reply without ever blocking the broker: a client that left or stopped reading
    /// loses its reply (counted), and every other client keeps being served. Frames after the
    /// route are counted in the reply budget until libzmq lets go of them.
    private func deliver(_ routeAndReply: [ZMQFrame], routeCount: Int) {
        do {
            let frames = try routeAndReply.enumerated().map { index, frame in
                index < routeCount ? frame : try replyBudget.counting(frame)
            }
            if try !frontend.send(frames, dontWait: true) {
                stats.recordUndeliverable()
            }
        } catch {
            stats.recordUndeliverable()
            logger.debug("reply undeliverable", metadata: ["error": "\(error)"])
        }
    }
}
