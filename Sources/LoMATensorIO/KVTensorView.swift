/// A non-owning view of raw little-endian KV bytes (a ZeroMQ frame, a mapped file), possibly
/// unaligned and in any dtype or layout. The engine converts rows to f32 as it needs them, so a
/// request is never copied whole.
///
/// The bytes must outlive every use of the view; a view made from a `Tensor` keeps it alive.
public struct KVTensorView {
    public let bytes: UnsafeRawBufferPointer
    public let dtype: DType
    public let layout: KVLayout
    public let layers: Int
    public let kvHeads: Int
    public let tokens: Int
    public let headDim: Int
    private let owner: AnyObject?

    /// Checks that `bytes` holds exactly the described block; `name` labels errors (`"keys"`).
    public init(
        bytes: UnsafeRawBufferPointer, dtype: DType, layout: KVLayout,
        layers: Int, kvHeads: Int, tokens: Int, headDim: Int, name: String = "tensor"
    ) throws {
        try self.init(bytes: bytes, dtype: dtype, layout: layout, layers: layers, kvHeads: kvHeads,
                      tokens: tokens, headDim: headDim, name: name, owner: nil)
    }

    /// A heads-major f32 view of a `[layers, kv_heads, tokens, head_dim]` tensor (e.g. context
    /// read from a store), keeping the tensor alive.
    public init(_ tensor: Tensor, name: String = "tensor") throws {
        guard tensor.shape.count == 4 else {
            throw TensorIOError.input("\(name): expected 4 dimensions [layers, kv_heads, tokens, head_dim], got shape \(tensor.shape)")
        }
        try self.init(
            bytes: UnsafeRawBufferPointer(start: tensor.storage.pointer, count: tensor.count * 4),
            dtype: .f32, layout: .headsMajor, layers: tensor.shape[0], kvHeads: tensor.shape[1],
            tokens: tensor.shape[2], headDim: tensor.shape[3], name: name, owner: tensor.storage)
    }

    private init(
        bytes: UnsafeRawBufferPointer, dtype: DType, layout: KVLayout,
        layers: Int, kvHeads: Int, tokens: Int, headDim: Int, name: String, owner: AnyObject?
    ) throws {
        guard layers >= 0, kvHeads >= 0, tokens >= 0, headDim >= 0 else {
            throw TensorIOError.input("\(name): negative dimension in [\(layers), \(kvHeads), \(tokens), \(headDim)]")
        }
        let expected = layers * kvHeads * tokens * headDim * dtype.byteSize
        guard bytes.count == expected else {
            throw TensorIOError.input(
                "\(name): \(bytes.count) bytes, but shape \(layout.shape(layers: layers, kvHeads: kvHeads, tokens: tokens, headDim: headDim)) x \(dtype.rawValue) needs \(expected)")
        }
        self.bytes = bytes
        self.dtype = dtype
        self.layout = layout
        self.layers = layers
        self.kvHeads = kvHeads
        self.tokens = tokens
        self.headDim = headDim
        self.owner = owner
    }

    /// Element offset of row (layer, head, token).
    @inline(__always)
    package func rowOffset(layer: Int, head: Int, token: Int) -> Int {
        switch layout {
        case .headsMajor: ((layer * kvHeads + head) * tokens + token) * headDim
        case .tokensMajor: ((layer * tokens + token) * kvHeads + head) * headDim
        }
    }

    /// Converts the rows `tokens` of every head at `layer` into `destination`, laid out
    /// `[kv_heads, rowsPerHead, head_dim]` starting at row `firstRow` of each head.
    package func gather(
        layer: Int, tokens range: Range<Int>, into destination: UnsafeMutablePointer<Float>,
        rowsPerHead: Int, firstRow: Int
    ) {
        guard let base = bytes.baseAddress else { return }
        for head in 0..<kvHeads {
            for (index, token) in range.enumerated() {
                let source = base + rowOffset(layer: layer, head: head, token: token) * dtype.byteSize
                let target = destination + (head * rowsPerHead + firstRow + index) * headDim
                DTypeConversion.toFloat32(source, dtype: dtype, count: headDim, into: target)
            }
        }
    }

    /// The whole block as an owned heads-major f32 tensor.
    public func toHeadsMajorTensor() -> Tensor {
        let tensor = Tensor(zeros: [layers, kvHeads, tokens, headDim])
        for layer in 0..<layers {
            gather(layer: layer, tokens: 0..<tokens, into: tensor.mutablePointer + layer * kvHeads * tokens * headDim,
                   rowsPerHead: tokens, firstRow: 0)
        }
        return tensor
    }
}
