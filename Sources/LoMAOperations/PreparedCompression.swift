import LoMAModel
import LoMAProtocol
import LoMAStore

/// A compress request checked and turned into an engine job, waiting for its pass.
///
/// Checking happens before the pass so that one bad request in a batch is refused on its own
/// and never costs the others their pass.
struct PreparedCompression {
    /// The sequence a compress extends, as it was when its memory was read.
    struct SequenceTarget {
        let name: String
        let baseSegmentCount: Int
        let ttl: Duration?
    }

    let modelName: String
    let model: LlamaModel
    /// Checked against the model once, here; the pass does not check it again.
    let job: ValidatedJob
    let output: KVOutputFormat
    var segments: Int { job.segments }
    let sequence: SequenceTarget?

    /// Checks `request` against the model it names and the tensors it carries, and reads the
    /// memory of the sequence it names (which the segment attends to after any inline context).
    /// - Parameter maxSegments: most segments the request may carry; checked before any stored
    ///   memory is read, so an oversized request costs no compute and no store read.
    init(_ request: Loma_V1_CompressRequest, in message: DecodedMessage<Loma_V1_Request>, models: ModelRegistry,
         store: MemoryStore, tenant: String, maxSegments: Int = .max) throws {
        (modelName, model) = try models.model(named: request.model)

        guard request.hasSegment, request.segment.hasKeys, request.segment.hasValues else {
            throw StatusError.invalidArgument("compress needs segment.keys and segment.values")
        }
        let keys = try Self.view(request.segment.keys, role: "compress.segment.keys", in: message)
        let values = try Self.view(request.segment.values, role: "compress.segment.values", in: message)
        var contextKeys: KVTensorView?, contextValues: KVTensorView?
        if request.hasContext {
            guard request.context.hasKeys, request.context.hasValues else {
                throw StatusError.invalidArgument("compress.context needs both keys and values")
            }
            contextKeys = try Self.view(request.context.keys, role: "compress.context.keys", in: message)
            contextValues = try Self.view(request.context.values, role: "compress.context.values", in: message)
        }
        if request.checkFinite {
            for (role, view) in [("segment.keys", keys), ("segment.values", values), ("context.keys", contextKeys),
                                 ("context.values", contextValues)] {
                if let view, let index = view.firstNonFinite() {
                    throw StatusError.invalidArgument("compress.\(role) holds NaN or infinity (element \(index))")
                }
            }
        }
        guard let method = request.method.method else {
            throw StatusError.invalidArgument("compress.method \(request.method.rawValue) is not loma, mean_pool or strided")
        }
        // A sequence is context the LoMA model attends to in later passes and that inference
        // servers read back; baseline memory is for comparisons only, and mixing it into a
        // sequence would give memory the model was never trained to read.
        guard method == .loma || request.sequence.isEmpty else {
            throw StatusError.invalidArgument(
                "compress.method \(method.rawValue) cannot extend sequence '\(request.sequence)': sequences hold LoMA memory only; send baseline requests without a sequence")
        }
        guard request.position <= UInt64(Int.max / 2) else {
            throw StatusError.invalidArgument("compress.position \(request.position) is out of range")
        }
        output = try KVOutputFormat(dtype: request.outputDtype, layout: request.outputLayout, operation: "compress",
                                    fallback: (keys.dtype, keys.layout))
        // Checked against the model before any stored memory is read or joined to the context.
        var job: ValidatedJob
        do {
            job = try model.validate(CompressionJob(keys: keys, values: values, contextKeys: contextKeys,
                                                    contextValues: contextValues, position: Int(request.position), method: method),
                                     label: "compress: ")
        } catch let error as LoMAModelError {
            throw error.statusError
        }
        let segments = job.segments
        guard segments <= maxSegments else {
            throw StatusError.resourceExhausted(
                "this request carries \(segments) segments and limits.max_segments_per_request allows \(maxSegments); send them in several requests")
        }
        var position = Int(request.position)
        if request.sequence.isEmpty {
            sequence = nil
        } else {
            let stored = try Self.storedMemory(of: request.sequence, model: modelName, store: store, tenant: tenant)
            if let info = stored.info {
                if !request.hasPosition {
                    position = Int(info.nextPosition)
                } else if Int64(position) < info.nextPosition {
                    throw StatusError.failedPrecondition(
                        "position goes backwards: sequence '\(request.sequence)' already covers positions up to \(info.nextPosition), and this segment starts at \(position)")
                }
            }
            let inline = contextKeys.map { ($0.toHeadsMajorTensor(), contextValues?.toHeadsMajorTensor()) }
            if let keys = MemoryBlocks.concatenate(stored.segments, after: inline?.0, \.keys),
               let values = MemoryBlocks.concatenate(stored.segments, after: inline?.1, \.values) {
                contextKeys = try Self.view(of: keys, role: "stored memory keys")
                contextValues = try Self.view(of: values, role: "stored memory values")
            }
            // The context is new (the inline context joined to the stored memory), and so may be
            // the position: those are checked; the block is not checked again.
            do {
                let context = contextKeys.flatMap { keys in contextValues.map { (keys: keys, values: $0) } }
                job = try model.validate(job, context: context, position: position, label: "compress: ")
            } catch let error as LoMAModelError {
                throw error.statusError
            }
            sequence = SequenceTarget(name: request.sequence, baseSegmentCount: stored.info?.segmentCount ?? 0,
                                      ttl: request.ttlSeconds > 0 ? .seconds(Int(request.ttlSeconds)) : nil)
        }
        self.job = job
    }

    private static func view(_ descriptor: Loma_V1_TensorDescriptor, role: String,
                             in message: DecodedMessage<Loma_V1_Request>) throws -> KVTensorView {
        guard let tensor = message.tensor(descriptor) else {
            throw StatusError.invalidArgument("\(role) names frame \(descriptor.frame), which carries no tensor")
        }
        return try tensor.kvView(role: role)
    }

    private static func view(of tensor: Tensor, role: String) throws -> KVTensorView {
        do {
            return try KVTensorView(tensor, name: role)
        } catch let error as LoMAModelError {
            throw error.statusError
        }
    }

    /// The sequence's info and memory; no info for a sequence that does not exist yet.
    private static func storedMemory(of sequence: String, model: String, store: MemoryStore,
                                     tenant: String) throws -> (info: SequenceInfo?, segments: [MemorySegment]) {
        let info: SequenceInfo
        do {
            info = try store.sequenceInfo(tenant: tenant, sequence: sequence)
        } catch where error.kind == .notFound {
            return (nil, [])
        } catch {
            throw error.statusError
        }
        guard info.model == model else {
            throw StatusError.invalidArgument("sequence '\(sequence)' holds memory of model '\(info.model)', not '\(model)'")
        }
        let segments = try storeCall { () throws(StoreError) in try store.read(tenant: tenant, sequence: sequence) }
        return (info, segments)
    }

    /// Stores the new memory (when the request names a sequence) and builds the reply. The append
    /// fails, changing nothing, if another request extended the sequence since its memory was read.
    func finish(with result: CompressionResult, store: MemoryStore, tenant: String,
                into message: inout OutgoingMessage) throws -> Loma_V1_Reply.OneOf_Result {
        if let sequence {
            let memory = try MemoryBlocks.segments(keys: result.keys, values: result.values, positions: result.positions,
                                                   segmentCount: segments, firstSource: job.job.position,
                                                   segmentLength: model.configuration.loma.segmentLength)
            try storeCall { () throws(StoreError) in
                try store.append(tenant: tenant, sequence: sequence.name, model: modelName, segments: memory,
                                 ttl: sequence.ttl, expectedSegmentCount: sequence.baseSegmentCount)
            }
        }
        return try reply(with: result, into: &message)
    }

    /// The reply for this request once its pass produced `result`.
    private func reply(with result: CompressionResult, into message: inout OutgoingMessage) throws -> Loma_V1_Reply.OneOf_Result {
        var reply = Loma_V1_CompressReply()
        reply.memory.keys = try TensorEncoding.attach(result.keys, format: output, to: &message)
        reply.memory.values = try TensorEncoding.attach(result.values, format: output, to: &message)
        reply.positions = result.positions
        reply.segments = UInt32(clamping: segments)
        return .compress(reply)
    }
}
