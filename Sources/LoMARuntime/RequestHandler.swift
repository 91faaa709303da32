import LoMAProtocol

/// The outcome of one request: its result and the tensor frames attached for it, or a status.
public typealias HandlerOutcome = Result<(result: Loma_V1_Reply.OneOf_Result, message: OutgoingMessage), StatusError>

/// What a worker does with requests the broker has validated. Implementations run on worker
/// threads, several at once, so they must be thread-safe; they may block (compute), since workers
/// are dedicated threads, never Swift's cooperative pool.
public protocol RequestHandler: Sendable {
    /// Produces the result of one request, attaching any tensor frames to `reply`.
    /// - Throws: `StatusError` for a failure the client should see as such; anything else is
    ///   reported as INTERNAL.
    func handle(_ request: ClientRequest, reply: inout OutgoingMessage) throws -> Loma_V1_Reply.OneOf_Result

    /// Handles requests the broker grouped (compress requests for one model), one outcome per
    /// request in order. The default handles them one by one.
    func handleBatch(_ requests: [ClientRequest]) -> [HandlerOutcome]

    /// Whether `request` may be answered on the broker thread, as it arrives, instead of being
    /// handed to a worker and back: true only for requests that move bytes already in memory and
    /// never compute, wait on disk or wait on another request (a worker hop costs two thread
    /// wake-ups, which for a small store read is most of its latency). Such requests never
    /// queue, so the queue limits do not apply to them; the reply limit does. Default: none.
    func servesOnBroker(_ request: Loma_V1_Request) -> Bool
}

extension RequestHandler {
    public func servesOnBroker(_ request: Loma_V1_Request) -> Bool { false }

    public func handleBatch(_ requests: [ClientRequest]) -> [HandlerOutcome] {
        requests.map(outcome)
    }

    /// Runs `handle` and folds every failure into a status.
    public func outcome(of request: ClientRequest) -> HandlerOutcome {
        var message = OutgoingMessage()
        do {
            let result = try handle(request, reply: &message)
            return .success((result, message))
        } catch {
            return .failure(StatusError(describing: error))
        }
    }
}
