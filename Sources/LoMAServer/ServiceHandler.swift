import LoMAModel
import LoMAProtocol

/// The daemon's operations: compress on the models it serves; the store's operations answer
/// UNIMPLEMENTED until a store is configured.
public struct ServiceHandler: RequestHandler {
    public let models: ModelRegistry

    public init(models: ModelRegistry) {
        self.models = models
    }

    public func handle(_ request: DecodedMessage<Loma_V1_Request>, reply: inout OutgoingMessage) throws -> Loma_V1_Reply.OneOf_Result {
        switch request.envelope.operation {
        case .compress(let compress):
            let prepared = try PreparedCompression(compress, in: request, models: models)
            let results = try withExtendedLifetime(request) { try Self.run(prepared.model, [prepared.job]) }
            return try prepared.reply(with: results[0], into: &reply)
        case let operation:
            throw StatusError.unimplemented("\(Operation(operation)) needs the memory store, which this lomad does not have yet")
        }
    }

    /// Compress requests the broker grouped share one pass per model; anything else, or a batch
    /// whose pass fails, is handled request by request so one failure stays its own.
    public func handleBatch(_ requests: [DecodedMessage<Loma_V1_Request>]) -> [HandlerOutcome] {
        guard requests.count > 1 else { return requests.map(outcome) }
        var outcomes = [HandlerOutcome?](repeating: nil, count: requests.count)
        var prepared: [(index: Int, compression: PreparedCompression)] = []
        for (index, request) in requests.enumerated() {
            guard case .compress(let compress)? = request.envelope.operation else {
                outcomes[index] = outcome(of: request)
                continue
            }
            do {
                prepared.append((index, try PreparedCompression(compress, in: request, models: models)))
            } catch {
                outcomes[index] = .failure(StatusError(describing: error))
            }
        }
        let byModel = Dictionary(grouping: prepared, by: { ObjectIdentifier($0.compression.model) })
        for group in byModel.values {
            guard let model = group.first?.compression.model else { continue }
            do {
                let results = try withExtendedLifetime(requests) { try Self.run(model, group.map(\.compression.job)) }
                for (member, result) in zip(group, results) {
                    var message = OutgoingMessage()
                    outcomes[member.index] = Result {
                        (try member.compression.reply(with: result, into: &message), message)
                    }.mapError(StatusError.init(describing:))
                }
            } catch {
                for member in group { outcomes[member.index] = outcome(of: requests[member.index]) }
            }
        }
        return outcomes.map { $0 ?? .failure(.internalError("request was not handled")) }
    }

    private static func run(_ model: LlamaModel, _ jobs: [CompressionJob]) throws -> [CompressionResult] {
        do {
            return try model.compress(jobs)
        } catch let error as LoMAModelError {
            throw error.statusError
        }
    }
}
