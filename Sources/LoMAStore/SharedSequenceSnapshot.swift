/// A sequence as the shared tier holds it: segments named by content digest instead of local
/// ids, and a version that changes with every write (a random 64-bit value, so a sequence
/// deleted and recreated never repeats a version a daemon has cached).
public struct SharedSequenceSnapshot: Equatable, Sendable {
    public var version: UInt64
    public var model: String
    public var shape: MemoryShape
    /// Content digests of the segments, in order.
    public var segments: [[UInt8]]
    public var memoryTokens: Int
    public var nextPosition: Int64
    public var expiresAtMilliseconds: Int64?

    public init(version: UInt64, model: String, shape: MemoryShape, segments: [[UInt8]], memoryTokens: Int,
                nextPosition: Int64, expiresAtMilliseconds: Int64?) {
        self.version = version
        self.model = model
        self.shape = shape
        self.segments = segments
        self.memoryTokens = memoryTokens
        self.nextPosition = nextPosition
        self.expiresAtMilliseconds = expiresAtMilliseconds
    }

    static let formatVersion: UInt8 = 1
    static let digestSize = 32

    func isExpired(now: Int64) -> Bool {
        expiresAtMilliseconds.map { $0 <= now } ?? false
    }

    /// The record's bytes (little-endian, like the store's LMDB records); the tier adds its own
    /// envelope (checksum, model identity).
    public var encoded: [UInt8] {
        var writer = BinaryWriter(capacity: 64 + model.utf8.count + segments.count * Self.digestSize)
        writer.write(Self.formatVersion)
        writer.write(version)
        writer.write(model)
        for dimension in [shape.layers, shape.kvHeads, shape.headDim] { writer.write(UInt32(dimension)) }
        writer.write(UInt64(memoryTokens))
        writer.write(nextPosition)
        writer.write(UInt8(expiresAtMilliseconds == nil ? 0 : 1))
        writer.write(expiresAtMilliseconds ?? 0)
        writer.write(UInt32(segments.count))
        for digest in segments { writer.write(raw: digest) }
        return writer.bytes
    }

    public init(encoded bytes: [UInt8], context: String) throws(StoreError) {
        let decoded = bytes.withUnsafeBytes { (raw) -> Result<SharedSequenceSnapshot, StoreError> in
            Result { () throws(StoreError) in try Self.decode(raw, context: context) }
        }
        self = try decoded.get()
    }

    private static func decode(_ raw: UnsafeRawBufferPointer, context: String) throws(StoreError) -> SharedSequenceSnapshot {
        do {
            var reader = BinaryReader(raw, context: context)
            let format = try reader.read(UInt8.self, field: "format")
            guard format == Self.formatVersion else {
                throw .dataLoss("\(context) has format \(format); this build reads format \(Self.formatVersion)")
            }
            let version = try reader.read(UInt64.self, field: "version")
            let model = try reader.readString(field: "model")
            let limit = MemorySegment.dimensionLimit
            let shape = MemoryShape(layers: try reader.readCount(field: "layers", limit: limit),
                                    kvHeads: try reader.readCount(field: "kvHeads", limit: limit),
                                    headDim: try reader.readCount(field: "headDim", limit: limit))
            let memoryTokens = Int(clamping: try reader.read(UInt64.self, field: "memoryTokens"))
            let nextPosition = try reader.read(Int64.self, field: "nextPosition")
            let hasExpiry = try reader.read(UInt8.self, field: "hasExpiry")
            let expiry = try reader.read(Int64.self, field: "expiresAt")
            let count = try reader.readCount(field: "segment count", limit: raw.count / Self.digestSize)
            var segments: [[UInt8]] = []
            segments.reserveCapacity(count)
            for _ in 0..<count {
                segments.append(try reader.readRaw(count: Self.digestSize, field: "segment digest") { Array($0) })
            }
            try reader.requireEnd()
            return SharedSequenceSnapshot(version: version, model: model, shape: shape, segments: segments,
                                          memoryTokens: memoryTokens, nextPosition: nextPosition,
                                          expiresAtMilliseconds: hasExpiry == 0 ? nil : expiry)
        }
    }
}
