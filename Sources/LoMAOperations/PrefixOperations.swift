import LoMAModel
import LoMAProtocol
import LoMAStore

/// Publishing memory under chained chunk hashes, and finding the longest stored prefix.
struct PrefixOperations {
    let store: MemoryStore
    let models: ModelRegistry
    let tenant: String

    func publish(_ request: Loma_V1_PublishPrefixRequest, in message: DecodedMessage<Loma_V1_Request>) throws -> Loma_V1_Reply.OneOf_Result {
        let (name, model) = try models.model(named: request.model)
        let loma = model.configuration.loma
        let chunks = request.chunkHashes.count
        guard chunks > 0 else { throw StatusError.invalidArgument("publish_prefix needs at least one chunk hash") }
        guard request.hasMemory, let keyFrame = message.tensor(request.memory.keys),
              let valueFrame = message.tensor(request.memory.values) else {
            throw StatusError.invalidArgument("publish_prefix needs memory.keys and memory.values")
        }
        let keys = try keyFrame.kvView(role: "publish_prefix.memory.keys")
        let values = try valueFrame.kvView(role: "publish_prefix.memory.values")
        let tokens = chunks * loma.memoryTokensPerSegment
        let configuration = model.configuration
        for (role, view) in [("keys", keys), ("values", values)] {
            guard view.layers == configuration.numHiddenLayers, view.kvHeads == configuration.numKeyValueHeads,
                  view.headDim == configuration.headDim, view.tokens == tokens else {
                throw StatusError.invalidArgument(
                    "publish_prefix.memory.\(role) is [\(view.layers), \(view.kvHeads), \(view.tokens), \(view.headDim)] (layers, kv_heads, tokens, head_dim); model '\(name)' with \(chunks) chunks needs [\(configuration.numHiddenLayers), \(configuration.numKeyValueHeads), \(tokens), \(configuration.headDim)]")
            }
        }
        // Without positions, the memory is where LoMA puts it for a prompt starting at 0.
        let positions = request.positions.isEmpty
            ? (0..<tokens).map { Int64(model.memoryPosition(blockPosition: 0, index: $0)) }
            : request.positions
        guard positions.count == tokens else {
            throw StatusError.invalidArgument("publish_prefix has \(positions.count) positions for \(tokens) memory tokens")
        }
        let segments = try MemoryBlocks.segments(keys: keys.toHeadsMajorTensor(), values: values.toHeadsMajorTensor(),
                                                 positions: positions, segmentCount: chunks, firstSource: 0,
                                                 segmentLength: loma.segmentLength)
        let stored = try storeCall { () throws(StoreError) in
            try store.publishPrefix(tenant: tenant, model: name, chunkHashes: request.chunkHashes.map { Array($0) },
                                    segments: segments)
        }
        var reply = Loma_V1_PublishPrefixReply()
        reply.storedChunks = UInt32(clamping: stored)
        return .publishPrefix(reply)
    }

    func lookup(_ request: Loma_V1_LookupPrefixRequest, into message: inout OutgoingMessage) throws -> Loma_V1_Reply.OneOf_Result {
        let format = try KVOutputFormat(dtype: request.outputDtype, layout: request.outputLayout, operation: "lookup_prefix",
                                        fallback: KVOutputFormat.storedDefault)
        let (name, _) = try models.model(named: request.model)
        let segments = try storeCall { () throws(StoreError) in
            try store.lookupPrefix(tenant: tenant, model: name, chunkHashes: request.chunkHashes.map { Array($0) })
        }
        var reply = Loma_V1_LookupPrefixReply()
        reply.matchedChunks = UInt32(clamping: segments.count)
        if let attached = try MemoryBlocks.attach(segments, format: format, to: &message) {
            reply.memory = attached.memory
            reply.positions = attached.positions
        }
        return .lookupPrefix(reply)
    }
}
