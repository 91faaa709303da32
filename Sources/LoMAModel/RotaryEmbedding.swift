import Foundation

/// Rotary position embedding in the Hugging Face "rotate half" convention: dimension `i` pairs
/// with `i + head_dim/2`, and both use frequency `i`.
public struct RotaryEmbedding: Sendable {
    public let headDim: Int
    public let inverseFrequencies: [Double]

    public init(configuration: RoPEConfiguration, headDim: Int) {
        self.headDim = headDim
        inverseFrequencies = configuration.inverseFrequencies(headDim: headDim)
    }

    /// Cos/sin tables `[positions.count, head_dim/2]`, angles taken in double precision so large
    /// absolute positions keep their accuracy.
    func tables(for positions: [Int]) -> (cos: [Float], sin: [Float]) {
        let half = headDim / 2
        var cosines = [Float](repeating: 0, count: positions.count * half)
        var sines = [Float](repeating: 0, count: positions.count * half)
        for (row, position) in positions.enumerated() {
            for index in 0..<half {
                let angle = Double(position) * inverseFrequencies[index]
                cosines[row * half + index] = Float(Foundation.cos(angle))
                sines[row * half + index] = Float(Foundation.sin(angle))
            }
        }
        return (cosines, sines)
    }

    /// Rotates `heads` consecutive head vectors in each of `rows` rows (row stride `stride`),
    /// row `r` at the angles of table row `r`. Rows are independent, so threads may rotate
    /// disjoint ranges at once.
    func rotate(
        _ data: UnsafeMutablePointer<Float>, rows: Range<Int>, stride: Int, heads: Int,
        cos cosines: [Float], sin sines: [Float]
    ) {
        let half = headDim / 2
        for row in rows {
            for head in 0..<heads {
                let vector = data + row * stride + head * headDim
                for index in 0..<half {
                    let c = cosines[row * half + index], s = sines[row * half + index]
                    let first = vector[index], second = vector[index + half]
                    vector[index] = first * c - second * s
                    vector[index + half] = second * c + first * s
                }
            }
        }
    }
}
