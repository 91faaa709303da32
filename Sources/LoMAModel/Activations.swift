import Foundation

/// Row-wise softmax, max-subtracted so large logits cannot overflow.
enum Softmax {
    static func applyRows(_ data: UnsafeMutablePointer<Float>, rows: Int, width: Int) {
        for row in 0..<rows {
            let values = data + row * width
            var maximum = -Float.infinity
            for index in 0..<width { maximum = max(maximum, values[index]) }
            var sum: Float = 0
            for index in 0..<width {
                let e = Foundation.exp(values[index] - maximum)
                values[index] = e
                sum += e
            }
            let inverse = 1 / sum
            for index in 0..<width { values[index] *= inverse }
        }
    }
}

/// `silu(gate) * up` for the fused `[gate | up]` rows of the MLP.
enum SwiGLU {
    static func apply(_ gateUp: UnsafePointer<Float>, rows: Int, width: Int, into output: UnsafeMutablePointer<Float>) {
        let rowsOf = RowPointers(input: gateUp, output: output)
        // exp dominates: count each element as ~16 multiply-adds of work.
        Parallel.forEach(rows, minimumChunk: Parallel.minimumChunk(workPerItem: 16 * width)) { range in
            for row in range {
                let gate = rowsOf.input + row * 2 * width
                let up = gate + width
                let target = rowsOf.output + row * width
                for index in 0..<width {
                    let g = gate[index]
                    target[index] = g / (1 + Foundation.exp(-g)) * up[index]
                }
            }
        }
    }
}

/// Input and output of a row-wise loop, handed to worker threads that each own whole rows.
struct RowPointers: @unchecked Sendable {
    let input: UnsafePointer<Float>
    let output: UnsafeMutablePointer<Float>
}
