/// A linear layer with Hugging Face weight layout `[out_features, in_features]`. Projections that
/// read the same input (q/k/v, gate/up) are fused into one `Linear` at load so each becomes a
/// single, larger matrix product.
public struct Linear: Sendable {
    public let weight: Tensor
    public let bias: Tensor?

    public var inFeatures: Int { weight.shape[1] }
    public var outFeatures: Int { weight.shape[0] }

    /// `output[rows, out] (+)= input[rows, in] * W^T + b`; `accumulate` adds into `output`
    /// (how the residual connections are applied without a copy).
    func apply(
        _ input: UnsafePointer<Float>, rows: Int, inputStride: Int? = nil,
        into output: UnsafeMutablePointer<Float>, accumulate: Bool = false
    ) {
        BLAS.multiplyTransposed(
            input, rows: rows, inner: inFeatures, lda: inputStride ?? inFeatures,
            weight.storage.pointer, outer: outFeatures, ldw: inFeatures,
            into: output, ldc: outFeatures, beta: accumulate ? 1 : 0)
        if let bias {
            let b = bias.storage.pointer
            for row in 0..<rows {
                let target = output + row * outFeatures
                for column in 0..<outFeatures { target[column] += b[column] }
            }
        }
    }
}
