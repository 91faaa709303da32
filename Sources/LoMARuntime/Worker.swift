import Logging
import LoMAProtocol
import ZeroMQ

/// One compute thread: a DEALER on the broker's inproc backend that announces itself ready and
/// then answers the requests it is handed (one, or a batch for one pass) until the context
/// shuts down. Each pass runs under a budget taken from the configuration in force when it
/// starts: the segment limit, the compute limit, and the daemon's drain deadline.
struct Worker {
    let context: ZMQContext
    let endpoints: BrokerEndpoints
    /// Where the requests the broker decoded wait for this worker.
    let handoff: RequestHandoff
    let handler: any RequestHandler
    let reloadable: ReloadableConfiguration
    let drainDeadline: DrainDeadline
    /// Reads the clock the compute limit is measured on; injectable so the limit can be tested
    /// without waiting on real time.
    let now: @Sendable () -> ContinuousClock.Instant
    let logger: Logger

    /// Runs on the worker's own thread, which owns the socket for its whole life.
    func run() {
        do {
            let socket = try ZMQSocket(context: context, type: .dealer)
            defer { socket.close() }
            try socket.setLinger(0)
            try socket.connect(endpoints.workers)
            try socket.send([ZMQFrame(bytes: BackendHeader(kind: .ready).bytes)])
            while let frames = try socket.receiveMessage() {
                let replies = answer(frames)
                for (index, reply) in replies.enumerated() {
                    var reply = reply
                    if index == replies.count - 1 {
                        reply.header.workerIdle = true
                    }
                    try socket.send([ZMQFrame(bytes: reply.header.bytes)] + reply.frames)
                }
            }
        } catch let error as ZMQError where error.isTerminated {
            // The daemon is stopping; the socket closes on the way out so zmq_ctx_term can return.
        } catch {
            logger.critical("worker stopped on an unexpected error", metadata: ["error": "\(error)"])
        }
    }

    private struct Part {
        var route: [ZMQFrame]
        var ticket: UInt64
        var tenant: String
        var operation: Operation
        var requestID: UInt64 = 0
        /// Set when the request named shared memory: where its reply's tensors go.
        var sharedMemory: SharedMemoryTransfer?
    }

    private struct Reply {
        var header: BackendHeader
        var frames: [ZMQFrame]
    }

    /// Answers every request of a `.requests` message, in order.
    private func answer(_ frames: [ZMQFrame]) -> [Reply] {
        guard var parts = split(frames), !parts.isEmpty else {
            logger.error("broker sent a malformed backend message; ignored")
            return [Reply(header: BackendHeader(kind: .reply), frames: [])]
        }
        var decoded: [ClientRequest] = []
        var outcomes: [HandlerOutcome?] = []
        let budget = currentBudget()
        for index in parts.indices {
            // Decoded and checked by the broker; only a bug could lose it on the way.
            guard let handedOff = handoff.take(parts[index].ticket) else {
                outcomes.append(.failure(.internalError("the request was lost between the broker and its worker")))
                continue
            }
            var message = handedOff.message
            parts[index].operation = Operation(message.envelope.operation)
            parts[index].requestID = message.envelope.requestID
            if message.envelope.hasSharedMemory {
                do {
                    let transfer = try SharedMemoryTransfer(handedOff)
                    message = transfer.message
                    parts[index].sharedMemory = transfer
                } catch {
                    outcomes.append(.failure(StatusError(describing: error)))
                    continue
                }
            }
            decoded.append(ClientRequest(message: message, tenant: parts[index].tenant, budget: budget))
            outcomes.append(nil)
        }
        var handled = handler.handleBatch(decoded).makeIterator()
        return zip(parts, outcomes).map { part, early in
            let outcome = early ?? handled.next() ?? .failure(.internalError("the handler returned too few outcomes"))
            return reply(to: part, requestID: part.requestID, outcome: outcome)
        }
    }

    /// The budget of a pass starting now: it stops at the drain deadline, or once it has run past
    /// the compute limit in force now (a later reload does not move a running pass's limit).
    private func currentBudget() -> ComputeBudget {
        let configuration = reloadable.current
        let drainDeadline = drainDeadline, now = now
        let limit = configuration.maxComputeTime
        let stopAt = limit.map { now() + $0 }
        return ComputeBudget(maxSegments: configuration.maxSegmentsPerRequest, stopReason: {
            if drainDeadline.hasPassed { return PassStopped.draining }
            if let limit, let stopAt, now() >= stopAt { return PassStopped.overComputeLimit(limit) }
            return nil
        })
    }

    private func reply(to part: Part, requestID: UInt64, outcome: HandlerOutcome) -> Reply {
        let (status, frames) = ReplyEncoding.frames(requestID: requestID, outcome: outcome, operation: part.operation,
                                                    sharedMemory: part.sharedMemory, logger: logger)
        let header = BackendHeader(kind: .reply, count: UInt8(part.route.count), operation: part.operation.rawValue,
                                   status: UInt8(clamping: status.rawValue))
        return Reply(header: header, frames: part.route + frames)
    }

    /// `[header(.requests, n), (part header, route...) x n]` into parts.
    private func split(_ frames: [ZMQFrame]) -> [Part]? {
        guard let first = frames.first, let header = BackendHeader(first.bytes), header.kind == .requests else { return nil }
        var parts: [Part] = []
        var index = 1
        for _ in 0..<Int(header.count) {
            guard index < frames.count, let part = BackendPartHeader(frames[index].bytes) else { return nil }
            let routeEnd = index + 1 + part.routeFrames
            guard routeEnd <= frames.count else { return nil }
            parts.append(Part(route: Array(frames[(index + 1)..<routeEnd]), ticket: part.ticket, tenant: part.tenant,
                              operation: .unknown))
            index = routeEnd
        }
        return index == frames.count ? parts : nil
    }
}
