/// How a KV block orders its axes. Both keep `head_dim` innermost, so one (layer, head, token)
/// row is always contiguous and conversion works row by row.
public enum KVLayout: String, Sendable, CaseIterable {
    /// `[layers, kv_heads, tokens, head_dim]`, the Hugging Face cache layout.
    case headsMajor = "heads_major"
    /// `[layers, tokens, kv_heads, head_dim]`, the vLLM / flash-attention layout.
    case tokensMajor = "tokens_major"

    /// The shape of a block with these sizes in this layout.
    public func shape(layers: Int, kvHeads: Int, tokens: Int, headDim: Int) -> [Int] {
        switch self {
        case .headsMajor: [layers, kvHeads, tokens, headDim]
        case .tokensMajor: [layers, tokens, kvHeads, headDim]
        }
    }
}
