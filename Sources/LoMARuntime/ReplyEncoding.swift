import Logging
import LoMAProtocol
import ZeroMQ

/// Turns a handler's outcome into the frames of its reply (envelope, then any tensor frames),
/// wherever the request was served: on a worker, or on the broker for requests the handler
/// answers without compute (`RequestHandler.servesOnBroker`). One place, so both paths answer
/// alike, errors included.
enum ReplyEncoding {
    /// The reply frames for `outcome` and the status they carry. A request that named a reply
    /// segment (`sharedMemory`, only ever on a worker) gets its tensors written there and an
    /// envelope alone, or frames with the size it would have needed when they do not fit. An
    /// outcome that cannot be encoded becomes an INTERNAL reply instead, so the client always
    /// gets an answer.
    static func frames(requestID: UInt64, outcome: HandlerOutcome, operation: Operation,
                       sharedMemory: SharedMemoryTransfer? = nil,
                       logger: Logger) -> (status: Loma_V1_StatusCode, frames: [ZMQFrame]) {
        var envelope = Loma_V1_Reply()
        envelope.requestID = requestID
        var message = OutgoingMessage()
        switch outcome {
        case .success(let success):
            envelope.status.code = .ok
            envelope.result = success.result
            message = success.message
        case .failure(let error):
            if error.code == .internal {
                logger.error("request failed", metadata: ["operation": "\(operation)", "error": "\(error.message)"])
            }
            envelope.status = error.status
        }
        do {
            if case .success = outcome, let placed = try sharedMemory?.place(message.tensors) {
                envelope.sharedMemory = placed
                if !placed.frames.isEmpty || message.tensors.isEmpty {
                    return (envelope.status.code, try OutgoingMessage.envelopeOnly(envelope))
                }
            }
            return (envelope.status.code, try message.frames(envelope: envelope))
        } catch {
            var failure = Loma_V1_Reply()
            failure.requestID = requestID
            failure.status = StatusError.internalError("could not encode the reply: \(error)").status
            return (.internal, (try? OutgoingMessage().frames(envelope: failure)) ?? [])
        }
    }
}
