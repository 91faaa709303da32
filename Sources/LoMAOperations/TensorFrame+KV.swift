import LoMAModel
import LoMAProtocol

extension TensorFrame {
    /// The frame's bytes as a KV block, checked to be a 4-axis f32/f16/bf16 tensor.
    ///
    /// The view points into the received frame without copying. That is sound because a
    /// `ZMQFrame` keeps its bytes at one address for its whole life; callers keep the decoded
    /// request (and so the frame) alive for as long as they use the view.
    func kvView(role: String) throws -> KVTensorView {
        guard let dtype = self.dtype.kvDType else {
            throw StatusError.invalidArgument("\(role) has dtype \(self.dtype.name); KV must be f32, f16 or bf16")
        }
        guard let layout = self.layout.kvLayout else {
            throw StatusError.invalidArgument("\(role) has an unknown layout (\(self.layout.name))")
        }
        guard shape.count == 4 else {
            throw StatusError.invalidArgument(
                "\(role) has shape \(shape); KV has 4 axes, [layers, kv_heads, tokens, head_dim] or [layers, tokens, kv_heads, head_dim]")
        }
        let (heads, tokens) = layout == .headsMajor ? (shape[1], shape[2]) : (shape[2], shape[1])
        let bytes = frame.withUnsafeBytes { $0 }
        do {
            return try KVTensorView(bytes: bytes, dtype: dtype, layout: layout, layers: shape[0], kvHeads: heads,
                                    tokens: tokens, headDim: shape[3], name: role)
        } catch let error as LoMAModelError {
            throw error.statusError
        }
    }
}

extension KVTensorView {
    /// Index of the first NaN or infinity, or nil. Checks exponent bits, so it costs one integer
    /// pass and needs no conversion.
    func firstNonFinite() -> Int? {
        let count = bytes.count / dtype.byteSize
        switch dtype {
        case .f32:
            for index in 0..<count where bytes.loadUnaligned(fromByteOffset: index * 4, as: UInt32.self) & 0x7F80_0000 == 0x7F80_0000 {
                return index
            }
        case .bf16:
            for index in 0..<count where bytes.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self) & 0x7F80 == 0x7F80 {
                return index
            }
        case .f16:
            for index in 0..<count where bytes.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self) & 0x7C00 == 0x7C00 {
                return index
            }
        }
        return nil
    }
}
