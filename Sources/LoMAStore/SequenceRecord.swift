/// What the store keeps per sequence besides the segments themselves. Small, so every record
/// stays in RAM (and in LMDB) while the segments' bytes are what the RAM tier budgets and evicts.
struct SequenceRecord: Equatable {
    var model: String
    var shape: MemoryShape
    var segments: [SegmentID]
    var memoryTokens: Int
    var nextPosition: Int64
    /// Unix time in milliseconds; wall-clock so an expiry survives a restart.
    var expiresAtMilliseconds: Int64?

    func isExpired(now: Int64) -> Bool {
        expiresAtMilliseconds.map { $0 <= now } ?? false
    }

    static let formatVersion: UInt8 = 1

    var encoded: [UInt8] {
        var writer = BinaryWriter(capacity: 64 + model.utf8.count + segments.count * 8)
        writer.write(Self.formatVersion)
        writer.write(model)
        for dimension in [shape.layers, shape.kvHeads, shape.headDim] { writer.write(UInt32(dimension)) }
        writer.write(UInt64(memoryTokens))
        writer.write(nextPosition)
        writer.write(UInt8(expiresAtMilliseconds == nil ? 0 : 1))
        writer.write(expiresAtMilliseconds ?? 0)
        writer.write(UInt32(segments.count))
        for segment in segments { writer.write(segment.rawValue) }
        return writer.bytes
    }

    init(model: String, shape: MemoryShape, segments: [SegmentID], memoryTokens: Int, nextPosition: Int64,
         expiresAtMilliseconds: Int64?) {
        self.model = model
        self.shape = shape
        self.segments = segments
        self.memoryTokens = memoryTokens
        self.nextPosition = nextPosition
        self.expiresAtMilliseconds = expiresAtMilliseconds
    }

    init(encoded bytes: UnsafeRawBufferPointer, context: String) throws(StoreError) {
        var reader = BinaryReader(bytes, context: context)
        let version = try reader.read(UInt8.self, field: "version")
        guard version == Self.formatVersion else {
            throw .internalError("\(context) has format version \(version); this build reads version \(Self.formatVersion)")
        }
        model = try reader.readString(field: "model")
        let limit = MemorySegment.dimensionLimit
        shape = MemoryShape(layers: try reader.readCount(field: "layers", limit: limit),
                            kvHeads: try reader.readCount(field: "kvHeads", limit: limit),
                            headDim: try reader.readCount(field: "headDim", limit: limit))
        memoryTokens = Int(clamping: try reader.read(UInt64.self, field: "memoryTokens"))
        nextPosition = try reader.read(Int64.self, field: "nextPosition")
        let hasExpiry = try reader.read(UInt8.self, field: "hasExpiry")
        let expiry = try reader.read(Int64.self, field: "expiresAt")
        expiresAtMilliseconds = hasExpiry == 0 ? nil : expiry
        let count = try reader.readCount(field: "segment count", limit: bytes.count / 8)
        var segments: [SegmentID] = []
        segments.reserveCapacity(count)
        for _ in 0..<count { segments.append(SegmentID(rawValue: try reader.read(UInt64.self, field: "segment id"))) }
        self.segments = segments
        try reader.requireEnd()
    }
}
