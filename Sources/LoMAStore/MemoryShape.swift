/// The geometry every memory segment of one sequence (or one model's prefix entries) shares.
/// Tokens per segment may differ; layers, KV heads and head size come from the model and may not.
public struct MemoryShape: Hashable, Sendable, CustomStringConvertible {
    public let layers: Int
    public let kvHeads: Int
    public let headDim: Int

    public init(layers: Int, kvHeads: Int, headDim: Int) {
        self.layers = layers
        self.kvHeads = kvHeads
        self.headDim = headDim
    }

    public var description: String { "layers=\(layers) kvHeads=\(kvHeads) headDim=\(headDim)" }
}
