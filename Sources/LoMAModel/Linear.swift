import CLoMAKernels
import LoMATensorIO

/// A linear layer with Hugging Face weight layout `[out_features, in_features]`, held packed
/// for the product kernel. Projections that read the same input (q/k/v, gate/up) are fused into
/// one `Linear` at load so each becomes a single, larger matrix product.
public struct Linear: Sendable {
    public let weight: PackedWeights
    public let bias: Tensor?

    public var inFeatures: Int { weight.columns }
    public var outFeatures: Int { weight.rows }

    /// Packs `weight` (`[out, in]`, row-major); the tensor is not kept.
    init(weight: Tensor, bias: Tensor?) {
        self.weight = PackedWeights(packing: weight)
        self.bias = bias
    }

    /// Floats `packedInput` must hold for `rows` input rows.
    static func packedInputCount(rows: Int, inFeatures: Int) -> Int {
        loma_packed_rows_count(Int32(rows), Int32(inFeatures))
    }

    /// `output[rows, out] (+)= input[rows, in] * W^T + b`; `accumulate` adds into `output`
    /// (how the residual connections are applied without a copy). `packedInput` is scratch of
    /// `packedInputCount` floats: the input is repacked once and shared by every thread, each
    /// of which computes its own panels (column blocks) of the output.
    func apply(
        _ input: UnsafePointer<Float>, rows: Int, inputStride: Int? = nil,
        into output: UnsafeMutablePointer<Float>, accumulate: Bool = false,
        packedInput: UnsafeMutablePointer<Float>
    ) {
        guard rows > 0 else { return }
        loma_pack_rows(input, Int32(rows), Int32(inFeatures), Int32(inputStride ?? inFeatures), packedInput)
        let shared = SharedPointers(input: packedInput, weights: weight.storage.pointer, output: output)
        let (m, k, n) = (Int32(rows), Int32(inFeatures), Int32(outFeatures))
        let panelWork = rows * inFeatures * Int(LOMA_PANEL_WIDTH)
        Parallel.forEach(weight.panelCount, minimumChunk: Parallel.minimumChunk(workPerItem: panelWork)) { panels in
            loma_gemm_packed(shared.input, m, k, shared.weights, n, Int32(panels.lowerBound), Int32(panels.upperBound),
                             shared.output, n, accumulate ? 1 : 0)
        }
        if let bias {
            let b = bias.storage.pointer
            for row in 0..<rows {
                let target = output + row * outFeatures
                for column in 0..<outFeatures { target[column] += b[column] }
            }
        }
    }
}

/// The buffers of one product, handed to worker threads that write disjoint column blocks.
private struct SharedPointers: @unchecked Sendable {
    let input: UnsafeMutablePointer<Float>
    let weights: UnsafeMutablePointer<Float>
    let output: UnsafeMutablePointer<Float>
}
