import LoMAProtocol

/// What a worker does with a request the broker has validated. Implementations run on worker
/// threads, several at once, so they must be thread-safe; they may block (compute), since workers
/// are dedicated threads, never Swift's cooperative pool.
public protocol RequestHandler: Sendable {
    /// Produces the result of one request, attaching any tensor frames to `reply`.
    /// - Throws: `StatusError` for a failure the client should see as such; anything else is
    ///   reported as INTERNAL.
    func handle(_ request: DecodedMessage<Loma_V1_Request>, reply: inout OutgoingMessage) throws -> Loma_V1_Reply.OneOf_Result
}
