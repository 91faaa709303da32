import LoMAModel
import LoMAProtocol
import LoMAStore

/// Moving memory between the engine's tensors (`[layers, kv_heads, tokens, head_dim]`, one block)
/// and the store's segments (the same layout, one segment's tokens each).
enum MemoryBlocks {
    /// The keys (or values) of `segments` as one block, after `prefix` when given (inline context
    /// a client sent before the stored memory). Nil when there is nothing to concatenate.
    static func concatenate(_ segments: [MemorySegment], after prefix: Tensor? = nil,
                            _ field: KeyPath<MemorySegment, [Float]>) -> Tensor? {
        let shape: [Int]
        if let prefix {
            shape = prefix.shape
        } else if let first = segments.first?.shape {
            shape = [first.layers, first.kvHeads, 0, first.headDim]
        } else {
            return nil
        }
        let (rows, headDim) = (shape[0] * shape[1], shape[3])
        let total = segments.reduce(prefix?.shape[2] ?? 0) { $0 + $1.tokens }
        let tensor = Tensor(zeros: [shape[0], shape[1], total, headDim])
        var offset = 0
        func append(_ source: UnsafePointer<Float>, tokens: Int) {
            for row in 0..<rows {
                (tensor.storage.pointer + (row * total + offset) * headDim)
                    .update(from: source + row * tokens * headDim, count: tokens * headDim)
            }
            offset += tokens
        }
        if let prefix { append(prefix.storage.pointer, tokens: prefix.shape[2]) }
        for segment in segments {
            segment[keyPath: field].withUnsafeBufferPointer { buffer in
                if let base = buffer.baseAddress { append(base, tokens: segment.tokens) }
            }
        }
        return tensor
    }

    /// Splits a block of memory (engine output, or memory a client publishes) into one store
    /// segment per compressed segment; segment `s` replaced source tokens
    /// `firstSource + s * segmentLength ..< firstSource + (s + 1) * segmentLength`.
    static func segments(keys: Tensor, values: Tensor, positions: [Int64], segmentCount: Int, firstSource: Int,
                         segmentLength: Int) throws -> [MemorySegment] {
        let (layers, heads, tokens, headDim) = (keys.shape[0], keys.shape[1], keys.shape[2], keys.shape[3])
        let perSegment = tokens / max(1, segmentCount)
        let shape = MemoryShape(layers: layers, kvHeads: heads, headDim: headDim)
        func slice(_ tensor: Tensor, _ segment: Int) -> [Float] {
            [Float](unsafeUninitializedCapacity: layers * heads * perSegment * headDim) { buffer, count in
                guard let destination = buffer.baseAddress else { return }
                for row in 0..<(layers * heads) {
                    (destination + row * perSegment * headDim)
                        .initialize(from: tensor.storage.pointer + (row * tokens + segment * perSegment) * headDim,
                                    count: perSegment * headDim)
                }
                count = buffer.count
            }
        }
        return try (0..<segmentCount).map { segment in
            try storeCall { () throws(StoreError) in
                try MemorySegment(keys: slice(keys, segment), values: slice(values, segment),
                                  positions: Array(positions[(segment * perSegment)..<((segment + 1) * perSegment)]),
                                  shape: shape, tokens: perSegment,
                                  sourceStart: Int64(firstSource + segment * segmentLength), sourceLength: segmentLength)
            }
        }
    }

    /// Attaches the memory of `segments` to a reply: keys and values as one block each, in the
    /// dtype and layout the client asked for.
    static func attach(_ segments: [MemorySegment], format: KVOutputFormat,
                       to message: inout OutgoingMessage) throws -> (memory: Loma_V1_KVPair, positions: [Int64])? {
        guard let keys = concatenate(segments, \.keys), let values = concatenate(segments, \.values) else { return nil }
        var memory = Loma_V1_KVPair()
        memory.keys = try TensorEncoding.attach(keys, format: format, to: &message)
        memory.values = try TensorEncoding.attach(values, format: format, to: &message)
        return (memory, segments.flatMap(\.positions))
    }
}
