import LoMAModel
import LoMAProtocol
import LoMARuntime
import LoMAStore

/// The daemon's operations over its models and its compressed-memory store. Every store access
/// goes through the tenant of the request, so no operation can name another tenant's data.
public struct OperationHandler: RequestHandler {
    public let models: ModelRegistry
    public let store: CompressedMemoryStore

    public init(models: ModelRegistry, store: CompressedMemoryStore) {
        self.models = models
        self.store = store
    }

    public func handle(_ request: ClientRequest, reply: inout OutgoingMessage) throws -> Loma_V1_Reply.OneOf_Result {
        let sequences = SequenceOperations(store: store, tenant: request.tenant)
        let prefixes = PrefixOperations(store: store, models: models, tenant: request.tenant)
        switch request.envelope.operation {
        case .compress(let compress):
            let prepared = try prepare(compress, in: request)
            let result: [CompressionResult]
            do {
                result = try withExtendedLifetime(request) { try Self.run(prepared.model, [prepared.job], request.budget) }
            } catch let stopped as PassStopped {
                throw stopped.status
            }
            return try prepared.finish(with: result[0], store: store, tenant: request.tenant, into: &reply)
        case .readMemory(let read):
            return try sequences.readMemory(read, into: &reply)
        case .forkSequence(let fork):
            return try sequences.fork(fork)
        case .deleteSequence(let delete):
            return try sequences.delete(delete)
        case .listSequences(let list):
            return try sequences.list(list)
        case .publishPrefix(let publish):
            return try prefixes.publish(publish, in: request.message)
        case .lookupPrefix(let lookup):
            return try prefixes.lookup(lookup, into: &reply)
        case .health, .stats, nil:
            // The broker answers these itself and never hands them to a worker.
            throw StatusError.internalError("\(Operation(request.envelope.operation)) reached a worker")
        }
    }

    /// In memory mode without a shared tier (`CompressedMemoryStore.isMemoryOnly`) every store
    /// operation but compress only moves bytes in RAM (a lookup or a read is a copy out, a publish
    /// a copy in, with int8 storage one quantizing pass over the bytes) and never waits on disk or
    /// network, so the broker answers it itself rather than paying two thread hand-offs. Compress
    /// computes, in durable mode a store call may wait on a disk commit (its own or, through the
    /// store's lock, another's), and with a shared tier on Redis round trips, each of which would
    /// stall every client: those go to workers.
    public func servesOnBroker(_ request: Loma_V1_Request) -> Bool {
        guard store.isMemoryOnly else { return false }
        switch request.operation {
        case .readMemory, .forkSequence, .deleteSequence, .listSequences, .publishPrefix, .lookupPrefix:
            return true
        case .compress, .health, .stats, nil:
            return false
        }
    }

    /// Compress requests the broker grouped share one pass per model; anything else, or a batch
    /// whose pass fails, is handled request by request so one failure stays its own. A pass that
    /// was stopped (shutdown, compute limit) is not retried: every request in it gets that status.
    public func handleBatch(_ requests: [ClientRequest]) -> [HandlerOutcome] {
        guard requests.count > 1 else { return requests.map(outcome) }
        var outcomes = [HandlerOutcome?](repeating: nil, count: requests.count)
        var prepared: [(index: Int, compression: PreparedCompression)] = []
        for (index, request) in requests.enumerated() {
            guard case .compress(let compress)? = request.envelope.operation else {
                outcomes[index] = outcome(of: request)
                continue
            }
            do {
                prepared.append((index, try prepare(compress, in: request)))
            } catch {
                outcomes[index] = .failure(StatusError(describing: error))
            }
        }
        let byModel = Dictionary(grouping: prepared, by: { ObjectIdentifier($0.compression.model) })
        for group in byModel.values {
            guard let model = group.first?.compression.model else { continue }
            do {
                let budget = requests[group[0].index].budget
                let results = try withExtendedLifetime(requests) { try Self.run(model, group.map(\.compression.job), budget) }
                for (member, result) in zip(group, results) {
                    var message = OutgoingMessage()
                    let tenant = requests[member.index].tenant
                    outcomes[member.index] = Result {
                        (try member.compression.finish(with: result, store: store, tenant: tenant, into: &message), message)
                    }.mapError(StatusError.init(describing:))
                }
            } catch let stopped as PassStopped {
                for member in group { outcomes[member.index] = .failure(stopped.status) }
            } catch {
                for member in group { outcomes[member.index] = outcome(of: requests[member.index]) }
            }
        }
        return outcomes.map { $0 ?? .failure(.internalError("request was not handled")) }
    }

    private func prepare(_ compress: Loma_V1_CompressRequest, in request: ClientRequest) throws -> PreparedCompression {
        try PreparedCompression(compress, in: request.message, models: models, store: store, tenant: request.tenant,
                                maxSegments: request.budget.maxSegments)
    }

    /// Throws `PassStopped` as it is when the budget's cancellation stopped the pass.
    private static func run(_ model: LlamaModel, _ jobs: [ValidatedJob], _ budget: ComputeBudget) throws -> [CompressionResult] {
        do {
            return try model.compress(jobs, cancellation: budget.cancellation)
        } catch let error as LoMAModelError {
            throw error.statusError
        }
    }
}
