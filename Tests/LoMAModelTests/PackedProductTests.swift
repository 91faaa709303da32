@testable import LoMAModel
import LoMATensorIO
import Testing

/// The packed product kernel against a double-precision product written out longhand, on shapes
/// the model fixtures never produce: outputs that leave the last 16-wide panel part-filled, row
/// counts that leave the last 6-row tile part-filled, inner sizes spanning several 256-blocks.
@Suite struct PackedProductTests {
    struct Shape: CustomStringConvertible, Sendable {
        let rows: Int, inner: Int, outer: Int
        var description: String { "\(rows)x\(inner) * (\(outer)x\(inner))^T" }
    }

    static let shapes = [
        Shape(rows: 1, inner: 3, outer: 1), Shape(rows: 7, inner: 300, outer: 17),
        Shape(rows: 13, inner: 600, outer: 33), Shape(rows: 6, inner: 256, outer: 16),
        Shape(rows: 64, inner: 513, outer: 50),
    ]

    @Test(arguments: shapes, [false, true])
    func matchesLonghandProduct(_ shape: Shape, accumulate: Bool) {
        var generator = SystemRandomNumberGenerator()
        func random(_ count: Int) -> [Float] { (0..<count).map { _ in Float.random(in: -1...1, using: &generator) } }
        let weights = random(shape.outer * shape.inner)
        let bias = random(shape.outer)
        // Input rows are read with a stride wider than the row, as q/k/v blocks are.
        let inputStride = shape.inner + 5
        let input = Tensor(shape: [shape.rows, inputStride], values: random(shape.rows * inputStride))
        let initial = random(shape.rows * shape.outer)
        let output = Tensor(shape: [shape.rows, shape.outer], values: initial)
        let linear = Linear(weight: Tensor(shape: [shape.outer, shape.inner], values: weights),
                            bias: Tensor(shape: [shape.outer], values: bias))
        let scratch = AlignedStorage(count: Linear.packedInputCount(rows: shape.rows, inFeatures: shape.inner))

        linear.apply(input.storage.pointer, rows: shape.rows, inputStride: inputStride, into: output.mutablePointer,
                     accumulate: accumulate, packedInput: scratch.pointer)

        let inputs = input.scalars, results = output.scalars
        var worst: (error: Double, row: Int, column: Int) = (0, 0, 0)
        for row in 0..<shape.rows {
            for column in 0..<shape.outer {
                var sum = Double(bias[column]) + (accumulate ? Double(initial[row * shape.outer + column]) : 0)
                var magnitude = abs(sum)
                for k in 0..<shape.inner {
                    let product = Double(inputs[row * inputStride + k]) * Double(weights[column * shape.inner + k])
                    sum += product
                    magnitude += abs(product)
                }
                let error = abs(Double(results[row * shape.outer + column]) - sum) / max(magnitude, 1e-30)
                if error > worst.error { worst = (error, row, column) }
            }
        }
        #expect(worst.error < 1e-5, "\(shape): relative error \(worst.error) at (\(worst.row), \(worst.column))")
    }

    @Test func packedWeightsReadBackEveryElement() {
        let values = (0..<(37 * 5)).map { Float($0) }
        let packed = PackedWeights(packing: Tensor(shape: [37, 5], values: values))
        #expect(packed.rows == 37 && packed.columns == 5)
        #expect(packed.count == 48 * 5, "three panels of 16, the last padded")
        let mismatches = (0..<37).flatMap { row in (0..<5).filter { packed[row, $0] != values[row * 5 + $0] } }
        #expect(mismatches.isEmpty)
    }
}
