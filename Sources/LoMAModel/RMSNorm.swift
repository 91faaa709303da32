import LoMATensorIO

/// Root-mean-square layer norm as Llama defines it: `x / sqrt(mean(x^2) + eps) * weight`.
public struct RMSNorm: Sendable {
    public let weight: Tensor
    public let epsilon: Float

    /// Normalises `rows` rows of `input` into `output` (both `[rows, hidden]`).
    func apply(_ input: UnsafePointer<Float>, rows: Int, into output: UnsafeMutablePointer<Float>) {
        let width = weight.count
        let weight = weight
        let epsilon = epsilon
        let rowsOf = RowPointers(input: input, output: output)
        Parallel.forEach(rows, minimumChunk: Parallel.minimumChunk(workPerItem: 4 * width)) { range in
            let gain = weight.storage.pointer
            for row in range {
                let source = rowsOf.input + row * width
                let target = rowsOf.output + row * width
                var sumOfSquares: Float = 0
                for index in 0..<width { sumOfSquares += source[index] * source[index] }
                let scale = 1 / (sumOfSquares / Float(width) + epsilon).squareRoot()
                for index in 0..<width { target[index] = source[index] * scale * gain[index] }
            }
        }
    }
}
