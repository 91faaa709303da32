import LoMATensorIO

/// How a segment's KV is reduced to memory tokens.
public enum CompressionMethod: String, Sendable, CaseIterable {
    /// The LoMA memory pass (docs/loma-spec.md 3.2).
    case loma
    /// Average every `compression_ratio` consecutive tokens (baseline, 3.5).
    case meanPool = "mean_pool"
    /// Keep every `compression_ratio`-th token (baseline, 3.5).
    case strided
}

/// One independent request: a block of whole segments, the context before it, and where it
/// starts. Several jobs go through one batched pass.
public struct CompressionJob {
    public var keys: KVTensorView
    public var values: KVTensorView
    /// What the client still holds before the block (earlier memory, sinks, prompt); may be nil.
    public var contextKeys: KVTensorView?
    public var contextValues: KVTensorView?
    /// Absolute position of the block's first token.
    public var position: Int
    public var method: CompressionMethod

    public init(
        keys: KVTensorView, values: KVTensorView,
        contextKeys: KVTensorView? = nil, contextValues: KVTensorView? = nil,
        position: Int = 0, method: CompressionMethod = .loma
    ) {
        self.keys = keys
        self.values = values
        self.contextKeys = contextKeys
        self.contextValues = contextValues
        self.position = position
        self.method = method
    }
}

/// Memory-token KV replacing a job's block: `[layers, kv_heads, memory_tokens, head_dim]` f32
/// (heads-major) and one absolute position per memory token.
public struct CompressionResult: Sendable {
    public let keys: Tensor
    public let values: Tensor
    public let positions: [Int64]

    public init(keys: Tensor, values: Tensor, positions: [Int64]) {
        self.keys = keys
        self.values = values
        self.positions = positions
    }
}
