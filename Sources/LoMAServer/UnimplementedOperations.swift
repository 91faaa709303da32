import LoMAProtocol

/// The handler of a daemon that serves no model: every operation that needs one answers
/// UNIMPLEMENTED and says so, rather than pretending to work.
public struct UnimplementedOperations: RequestHandler {
    public init() {}

    public func handle(_ request: DecodedMessage<Loma_V1_Request>, reply: inout OutgoingMessage) throws -> Loma_V1_Reply.OneOf_Result {
        throw StatusError.unimplemented("\(Operation(request.envelope.operation)) is not implemented by this lomad")
    }
}
