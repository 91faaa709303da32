import CLoMAKernels
import LoMATensorIO

/// A linear layer with Hugging Face weight layout `[out_features, in_features]`, held packed
/// for the product kernel. Projections that read the same input (q/k/v, gate/up) are fused into
/// one `Linear` at load so each becomes a single, larger matrix product.
public struct Linear: Sendable {
    public let weight: PackedWeights
    public let bias: Tensor?
    /// The product kernel (resolved: never `auto`).
    public let kernel: EngineOptions.Kernel

    public var inFeatures: Int { weight.columns }
    public var outFeatures: Int { weight.rows }

    /// Packs `weight` (`[out, in]`, row-major) in `format`; the tensor is not kept. `kernel` must
    /// be one this CPU runs (`EngineOptions.resolvedKernel()`).
    init(weight: Tensor, bias: Tensor?, format: EngineOptions.Weights, kernel: EngineOptions.Kernel) {
        precondition(kernel != .auto, "kernel must be resolved before loading")
        self.weight = PackedWeights(packing: weight, format: format)
        self.bias = bias
        self.kernel = kernel
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
        let (kernel, format) = (kernel.code, weight.format.code)
        // Threads split whole kernel tiles (four panels for AVX-512), so no chunk ends in a
        // narrower, slower tile except the matrix's last.
        let panelsPerTile = self.kernel == .avx512 ? 4 : 1
        let panelCount = weight.panelCount
        let tileWork = rows * inFeatures * Int(LOMA_PANEL_WIDTH) * panelsPerTile
        let tiles = (panelCount + panelsPerTile - 1) / panelsPerTile
        Parallel.forEach(tiles, minimumChunk: Parallel.minimumChunk(workPerItem: tileWork)) { range in
            let first = range.lowerBound * panelsPerTile, end = min(range.upperBound * panelsPerTile, panelCount)
            loma_gemm_packed(kernel, format, shared.input, m, k, shared.weights, n,
                             Int32(first), Int32(end), shared.output, n, accumulate ? 1 : 0)
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
