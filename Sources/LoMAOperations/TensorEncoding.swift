import LoMAModel
import LoMAProtocol
import ZeroMQ

/// Puts engine output (f32, heads-major) on the wire in the dtype and layout a client asked for.
enum TensorEncoding {
    /// Attaches `tensor` (`[layers, kv_heads, tokens, head_dim]`, f32) to `message` and returns
    /// its descriptor. f32 heads-major output, the common case, is sent without a copy: libzmq
    /// reads the tensor's own memory and releases it when the bytes are on the wire.
    static func attach(_ tensor: Tensor, format: KVOutputFormat, to message: inout OutgoingMessage) throws -> Loma_V1_TensorDescriptor {
        let (dtype, layout) = (format.dtype, format.layout)
        precondition(tensor.shape.count == 4, "engine output is always 4-D")
        let (layers, heads, tokens, headDim) = (tensor.shape[0], tensor.shape[1], tensor.shape[2], tensor.shape[3])
        let frame: ZMQFrame
        if dtype == .f32, layout == .headsMajor {
            let storage = tensor.storage
            frame = try ZMQFrame(noCopy: UnsafeRawBufferPointer(start: storage.pointer, count: tensor.count * 4)) {
                withExtendedLifetime(storage) {}
            }
        } else {
            frame = try ZMQFrame(capacity: tensor.count * dtype.byteSize)
            frame.withUnsafeMutableBytes { destination in
                guard let base = destination.baseAddress else { return }
                let source = tensor.storage.pointer
                for layer in 0..<layers {
                    for head in 0..<heads {
                        for token in 0..<tokens {
                            let from = ((layer * heads + head) * tokens + token) * headDim
                            let to = layout == .headsMajor ? from : ((layer * tokens + token) * heads + head) * headDim
                            DTypeConversion.fromFloat32(source + from, count: headDim, to: dtype,
                                                        into: base + to * dtype.byteSize)
                        }
                    }
                }
            }
        }
        return message.attach(frame, dtype: Loma_V1_DType(dtype),
                              shape: layout.shape(layers: layers, kvHeads: heads, tokens: tokens, headDim: headDim),
                              layout: Loma_V1_KVLayout(layout))
    }
}
