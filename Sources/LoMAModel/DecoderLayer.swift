/// Self-attention weights of one layer. Only the memory tokens' own projections are computed
/// here; the keys and values they attend to otherwise come from the client.
public struct Attention: Sendable {
    /// Fused `[q; k; v]` projection, or `[k; v]` on the last layer whose queries are never used.
    public let queryKeyValue: Linear
    /// `o_proj`; nil on the last layer.
    public let output: Linear?
}

/// SwiGLU feed-forward: `down(silu(gate(x)) * up(x))`, with gate and up fused.
public struct MLP: Sendable {
    /// Fused `[gate; up]`, `[2 * intermediate, hidden]`.
    public let gateUp: Linear
    public let down: Linear
}

/// One decoder block. The last block of the memory pass only produces keys and values, so its
/// post-attention norm and MLP are not loaded at all.
public struct DecoderLayer: Sendable {
    public let inputNorm: RMSNorm
    public let attention: Attention
    public let postAttentionNorm: RMSNorm?
    public let mlp: MLP?

    /// True for the last layer, which stops after its key/value projections.
    public var producesKeyValuesOnly: Bool { attention.output == nil }
}
