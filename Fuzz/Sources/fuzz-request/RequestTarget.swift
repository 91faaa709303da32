import FuzzSupport
import LoMAModel
import LoMAOperations
import LoMAProtocol
import LoMARuntime
import LoMAStore
import ZeroMQ

/// Fuzzes what the daemon does with bytes from a client: the envelope-plus-frames decoder
/// (`DecodedMessage`), then the worker's own checks and operations (`OperationHandler`, with a
/// small fixture model and a fresh in-memory store per input), then the reply the worker built,
/// which the client-side decoder must accept. An input is several messages (see `FuzzFraming`)
/// handled in order against one store, so sequences written by one message are read, forked and
/// deleted by later ones.
enum RequestTarget {
    /// The limits a daemon runs with, scaled down so that oversized frames are cheap to reach.
    static let limits = ProtocolLimits(maxFrameBytes: 1 << 20, maxFrames: 16)
    /// Replies are judged by the client's decoder, which does not limit what the daemon sends.
    static let replyLimits = ProtocolLimits(maxFrameBytes: Int.max / 4, maxFrames: Int.max)
    /// The model name seeds use; requests may name others to reach "unknown model".
    static let modelName = "m"
    static let modelDirectory = FuzzEnvironment.repositoryPath("Tests/LoMAModelTests/Fixtures/models/llama_gqa")

    static let models: ModelRegistry = {
        do {
            let model = try LlamaModel.load(directory: modelDirectory)
            return try ModelRegistry([.init(name: modelName, model: model, loadTime: .zero)])
        } catch {
            fatalError("cannot load the fuzz model \(modelDirectory.path): \(error)")
        }
    }()

    static func run(_ input: [UInt8]) {
        let store: MemoryStore
        do {
            store = try MemoryStore(configuration: StoreConfiguration(mode: .memory, ramBudgetBytes: 16 << 20))
        } catch {
            fatalError("cannot open an in-memory store: \(error)")
        }
        let handler = OperationHandler(models: models, store: store)
        var batch: [DecodedMessage<Loma_V1_Request>] = []
        for frames in FuzzFraming.messages(in: input) {
            guard let request = decode(frames.map { ZMQFrame(bytes: $0) }) else { continue }
            switch request.envelope.operation {
            case .health, .stats, nil:
                // Answered by the broker from its own state; nothing of the request is used.
                FuzzEnvironment.trace("broker answers \(Operation(request.envelope.operation))")
            case .compress:
                // The broker groups consecutive compress requests into one batch for a pass.
                batch.append(request)
            default:
                handle(batch, with: handler)
                batch = []
                handle([request], with: handler)
            }
        }
        handle(batch, with: handler)
    }

    private static func decode(_ frames: [ZMQFrame]) -> DecodedMessage<Loma_V1_Request>? {
        do {
            return try DecodedMessage<Loma_V1_Request>(frames: frames, limits: limits)
        } catch let error as StatusError {
            FuzzEnvironment.trace("decode: \(error)")
            fuzzRequire(error.code == .invalidArgument || error.code == .resourceExhausted,
                        "the decoder refused a message with \(error)")
            return nil
        } catch {
            fuzzRequire(false, "the decoder threw a non-status error: \(error)")
            return nil
        }
    }

    private static func handle(_ requests: [DecodedMessage<Loma_V1_Request>], with handler: OperationHandler) {
        guard !requests.isEmpty else { return }
        // One tenant per input: every message of an input acts in the same namespace, so a
        // sequence written by one message is read, forked and deleted by the next.
        let outcomes = handler.handleBatch(requests.map { ClientRequest(message: $0, tenant: MemoryStore.defaultTenant) })
        fuzzRequire(outcomes.count == requests.count, "\(requests.count) requests got \(outcomes.count) outcomes")
        for outcome in outcomes {
            switch outcome {
            case .success(let success):
                FuzzEnvironment.trace("ok: \(success.result)")
                checkReply(success.result, message: success.message)
            case .failure(let error):
                FuzzEnvironment.trace("status: \(error)")
                // INTERNAL means the handler met an error it did not classify: for client input
                // that is a bug, since bad input must get a status naming what is wrong.
                fuzzRequire(error.code != .internal && error.code != .ok, "a request was answered with \(error)")
            }
        }
    }

    /// The reply the worker would send must decode on the client side.
    private static func checkReply(_ result: Loma_V1_Reply.OneOf_Result, message: OutgoingMessage) {
        var envelope = Loma_V1_Reply()
        envelope.status.code = .ok
        envelope.result = result
        do {
            let frames = try message.frames(envelope: envelope)
            _ = try DecodedMessage<Loma_V1_Reply>(frames: frames, limits: replyLimits)
        } catch {
            fuzzRequire(false, "the daemon built a reply that does not decode: \(error)")
        }
    }
}
