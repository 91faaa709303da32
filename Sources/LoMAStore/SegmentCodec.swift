/// The one byte layout of a stored memory segment, used by both tiers: the RAM tier holds these
/// bytes (so int8 storage shrinks RAM use as well as disk) and LMDB stores them unchanged.
///
/// Layout (little-endian): version u8, encoding u8, layers/kvHeads/tokens/headDim u32,
/// sourceStart i64, sourceLength u32, positions i64 × tokens, then keys and values, each either
/// f32 × elements or scales f32 × (layers·kvHeads·headDim) followed by int8 × elements.
enum SegmentCodec {
    static let version: UInt8 = 1

    private enum Encoding: UInt8 {
        case float32 = 0
        case int8PerChannel = 1
    }

    static func encode(_ segment: MemorySegment, quantization: StoreConfiguration.Quantization) -> [UInt8] {
        let elements = segment.keys.count
        let encoding: Encoding = quantization == .int8PerChannel ? .int8PerChannel : .float32
        var writer = BinaryWriter(capacity: 40 + segment.tokens * 8 + 2 * elements * (encoding == .float32 ? 4 : 1))
        writer.write(version)
        writer.write(encoding.rawValue)
        for dimension in [segment.shape.layers, segment.shape.kvHeads, segment.tokens, segment.shape.headDim] {
            writer.write(UInt32(dimension))
        }
        writer.write(segment.sourceStart)
        writer.write(UInt32(segment.sourceLength))
        for position in segment.positions { writer.write(position) }
        for tensor in [segment.keys, segment.values] {
            switch encoding {
            case .float32:
                writer.write(floats: tensor)
            case .int8PerChannel:
                let quantized = Int8ChannelQuantizer.quantize(tensor, shape: segment.shape, tokens: segment.tokens)
                writer.write(floats: quantized.scales)
                writer.write(raw: quantized.codes.lazy.map { UInt8(bitPattern: $0) })
            }
        }
        return writer.bytes
    }

    /// Decodes stored bytes; `context` names the record ("segment 12") in any error.
    static func decode(_ bytes: UnsafeRawBufferPointer, context: String) throws(StoreError) -> MemorySegment {
        var reader = BinaryReader(bytes, context: context)
        let storedVersion = try reader.read(UInt8.self, field: "version")
        guard storedVersion == version else {
            throw .internalError("\(context) has format version \(storedVersion); this build reads version \(version)")
        }
        let rawEncoding = try reader.read(UInt8.self, field: "encoding")
        guard let encoding = Encoding(rawValue: rawEncoding) else {
            throw .internalError("\(context) has unknown encoding \(rawEncoding)")
        }
        let limit = MemorySegment.dimensionLimit
        let layers = try reader.readCount(field: "layers", limit: limit)
        let kvHeads = try reader.readCount(field: "kvHeads", limit: limit)
        let tokens = try reader.readCount(field: "tokens", limit: limit)
        let headDim = try reader.readCount(field: "headDim", limit: limit)
        let sourceStart = try reader.read(Int64.self, field: "sourceStart")
        let sourceLength = try reader.readCount(field: "sourceLength", limit: limit)
        let shape = MemoryShape(layers: layers, kvHeads: kvHeads, headDim: headDim)
        let (elements, overflow) = layers.multipliedReportingOverflow(by: kvHeads * tokens * headDim)
        guard !overflow, elements <= MemorySegment.elementLimit else {
            throw .internalError("\(context) is corrupt: \(shape) tokens=\(tokens) is too large")
        }
        var positions: [Int64] = []
        positions.reserveCapacity(tokens)
        for _ in 0..<tokens { positions.append(try reader.read(Int64.self, field: "positions")) }
        var tensors: [[Float]] = []
        for field in ["keys", "values"] {
            switch encoding {
            case .float32:
                tensors.append(try reader.readFloats(count: elements, field: field))
            case .int8PerChannel:
                let scales = try reader.readFloats(count: layers * kvHeads * headDim, field: "\(field) scales")
                let codes = try reader.readRaw(count: elements, field: field) { raw in
                    raw.map { Int8(bitPattern: $0) }
                }
                tensors.append(Int8ChannelQuantizer.dequantize(.init(scales: scales, codes: codes), shape: shape, tokens: tokens))
            }
        }
        try reader.requireEnd()
        do {
            return try MemorySegment(keys: tensors[0], values: tensors[1], positions: positions, shape: shape,
                                     tokens: tokens, sourceStart: sourceStart, sourceLength: sourceLength)
        } catch {
            throw .internalError("\(context) is corrupt: \(error.message)")
        }
    }

    static func decode(_ bytes: [UInt8], context: String) throws(StoreError) -> MemorySegment {
        // `withUnsafeBytes` only rethrows untyped errors, so the typed error travels in a Result.
        try bytes.withUnsafeBytes { raw in
            Result { () throws(StoreError) in try decode(raw, context: context) }
        }.get()
    }
}
