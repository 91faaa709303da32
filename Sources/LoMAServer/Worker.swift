import Logging
import LoMAProtocol
import ZeroMQ

/// One compute thread: a DEALER on the broker's inproc backend that announces itself ready and
/// then answers one request at a time until the context shuts down.
struct Worker {
    let context: ZMQContext
    let endpoints: BrokerEndpoints
    let limits: ProtocolLimits
    let handler: any RequestHandler
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
                try socket.send(answer(frames))
            }
        } catch let error as ZMQError where error.isTerminated {
            // The daemon is stopping; the socket closes on the way out so zmq_ctx_term can return.
        } catch {
            logger.critical("worker stopped on an unexpected error", metadata: ["error": "\(error)"])
        }
    }

    /// Turns `[header, route..., request frames...]` into `[header, route..., reply frames...]`.
    private func answer(_ frames: [ZMQFrame]) -> [ZMQFrame] {
        guard let first = frames.first, let header = BackendHeader(first.bytes), frames.count > Int(header.routeFrames) + 1 else {
            logger.error("broker sent a message without a valid header")
            return [ZMQFrame(bytes: BackendHeader(kind: .message, status: UInt8(Loma_V1_StatusCode.internal.rawValue)).bytes)]
        }
        let routeEnd = 1 + Int(header.routeFrames)
        let route = Array(frames[1..<routeEnd])
        let application = Array(frames[routeEnd...])

        var envelope = Loma_V1_Reply()
        var message = OutgoingMessage()
        do {
            let request = try DecodedMessage<Loma_V1_Request>(frames: application, limits: limits)
            envelope.requestID = request.envelope.requestID
            envelope.result = try handler.handle(request, reply: &message)
            envelope.status.code = .ok
        } catch let error as StatusError {
            envelope.status = error.status
            message = OutgoingMessage()
        } catch {
            logger.error("request failed", metadata: ["operation": "\(Operation(rawValue: header.operation) ?? .unknown)", "error": "\(error)"])
            envelope.status = StatusError.internalError("\(error)").status
            message = OutgoingMessage()
        }
        var replyHeader = header
        replyHeader.status = UInt8(clamping: envelope.status.code.rawValue)
        let replyFrames: [ZMQFrame]
        do {
            replyFrames = try message.frames(envelope: envelope)
        } catch {
            replyHeader.status = UInt8(clamping: Loma_V1_StatusCode.internal.rawValue)
            var failure = Loma_V1_Reply()
            failure.requestID = envelope.requestID
            failure.status = StatusError.internalError("could not encode the reply: \(error)").status
            replyFrames = (try? OutgoingMessage().frames(envelope: failure)) ?? []
        }
        return [ZMQFrame(bytes: replyHeader.bytes)] + route + replyFrames
    }
}
