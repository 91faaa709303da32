/// The memory of one compressed segment: the memory tokens' keys and values at every layer, their
/// positions, and the absolute range of source tokens they replaced.
///
/// Segments are immutable values; a forked sequence shares them instead of copying.
public struct MemorySegment: Equatable, Sendable {
    /// `[layers, kvHeads, tokens, headDim]`, heads-major, already rotated at `positions`.
    public let keys: [Float]
    /// `[layers, kvHeads, tokens, headDim]`, heads-major.
    public let values: [Float]
    /// One absolute position per memory token.
    public let positions: [Int64]
    public let shape: MemoryShape
    /// Memory tokens in this segment.
    public let tokens: Int
    /// First absolute position of the raw segment this memory replaced.
    public let sourceStart: Int64
    /// Number of raw tokens this memory replaced.
    public let sourceLength: Int

    /// Checks every invariant the store relies on, so a bad segment is refused with the field that
    /// is wrong instead of corrupting a sequence (or a quantization scale) later.
    public init(keys: [Float], values: [Float], positions: [Int64], shape: MemoryShape, tokens: Int,
                sourceStart: Int64, sourceLength: Int) throws(StoreError) {
        for (name, value) in [("layers", shape.layers), ("kvHeads", shape.kvHeads),
                              ("headDim", shape.headDim), ("tokens", tokens), ("sourceLength", sourceLength)]
        where value <= 0 || value > Self.dimensionLimit {
            throw .invalidArgument("memory segment \(name) is \(value); expected 1...\(Self.dimensionLimit)")
        }
        let (elements, overflow) = shape.layers.multipliedReportingOverflow(by: shape.kvHeads * tokens * shape.headDim)
        guard !overflow, elements <= Self.elementLimit else {
            throw .invalidArgument("memory segment of \(shape) tokens=\(tokens) is larger than \(Self.elementLimit) elements")
        }
        guard keys.count == elements else {
            throw .invalidArgument("memory segment keys have \(keys.count) elements; \(shape) tokens=\(tokens) needs \(elements)")
        }
        guard values.count == elements else {
            throw .invalidArgument("memory segment values have \(values.count) elements; \(shape) tokens=\(tokens) needs \(elements)")
        }
        guard positions.count == tokens else {
            throw .invalidArgument("memory segment has \(positions.count) positions for \(tokens) tokens")
        }
        guard sourceStart >= 0 else {
            throw .invalidArgument("memory segment sourceStart is \(sourceStart); positions are never negative")
        }
        let sourceEnd = sourceStart + Int64(sourceLength)
        for (index, position) in positions.enumerated() {
            guard position >= sourceStart, position < sourceEnd else {
                throw .invalidArgument("memory segment position[\(index)] = \(position) is outside its source range \(sourceStart)..<\(sourceEnd)")
            }
            if index > 0, position <= positions[index - 1] {
                throw .invalidArgument("memory segment positions must increase; position[\(index)] = \(position) follows \(positions[index - 1])")
            }
        }
        if let bad = keys.firstIndex(where: { !$0.isFinite }) {
            throw .invalidArgument("memory segment keys[\(bad)] is \(keys[bad]); KV must be finite")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw .invalidArgument("memory segment values[\(bad)] is \(values[bad]); KV must be finite")
        }
        self.keys = keys
        self.values = values
        self.positions = positions
        self.shape = shape
        self.tokens = tokens
        self.sourceStart = sourceStart
        self.sourceLength = sourceLength
    }

    /// One past the last source position: where the next segment of the sequence may start.
    public var sourceEnd: Int64 { sourceStart + Int64(sourceLength) }

    /// Bounds each dimension so size arithmetic and the on-disk `UInt32` fields cannot overflow.
    static let dimensionLimit = 1 << 24
    /// 1 Gi elements (4 GiB of f32 per tensor): far above any memory segment, far below overflow.
    static let elementLimit = 1 << 30
}
