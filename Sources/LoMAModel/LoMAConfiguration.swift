/// The `loma` section of `config.json` (docs/loma-spec.md section 3.1).
public struct LoMAConfiguration: Codable, Sendable, Equatable {
    /// Raw tokens per compressed segment.
    public let segmentLength: Int
    /// Raw tokens per memory token.
    public let compressionRatio: Int
    /// Embedding ids of the memory tokens, as listed (one entry means "repeat it").
    public let memoryTokenIds: [Int]

    enum CodingKeys: String, CodingKey {
        case segmentLength = "segment_length"
        case compressionRatio = "compression_ratio"
        case memoryTokenIds = "memory_token_ids"
    }

    public init(segmentLength: Int, compressionRatio: Int, memoryTokenIds: [Int]) {
        self.segmentLength = segmentLength
        self.compressionRatio = compressionRatio
        self.memoryTokenIds = memoryTokenIds
    }

    /// `t = segment_length / compression_ratio`.
    public var memoryTokensPerSegment: Int { segmentLength / compressionRatio }

    /// The embedding id of memory token `index` (0-based) within a segment.
    public func memoryTokenId(_ index: Int) -> Int {
        memoryTokenIds.count == 1 ? memoryTokenIds[0] : memoryTokenIds[index]
    }
}
