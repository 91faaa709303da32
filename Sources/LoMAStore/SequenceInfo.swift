import Foundation

/// What a caller needs to know about a sequence without reading its memory: enough to build the
/// next compress request (`nextPosition`) and to append optimistically (`segmentCount`).
public struct SequenceInfo: Equatable, Sendable {
    public let tenant: String
    public let name: String
    public let model: String
    public let shape: MemoryShape
    /// Number of memory segments; pass it back as `expectedSegmentCount` to append safely.
    public let segmentCount: Int
    /// Memory tokens over all segments.
    public let memoryTokens: Int
    /// End of the last segment's source range; the next segment must start at or after it.
    public let nextPosition: Int64
    /// When the sequence stops existing, if it was given a time to live.
    public let expiresAt: Date?
}
