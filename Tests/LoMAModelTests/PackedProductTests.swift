@testable import LoMAModel
import LoMATensorIO
import Testing

/// Every product kernel this CPU runs (chosen through the same `EngineOptions.Kernel` the daemon's
/// `engine.kernel` setting sets), in both weight formats, against a double-precision product
/// written out longhand, on shapes the model fixtures never produce: outputs that leave the
/// last 16-wide panel (and the last 4-panel AVX-512 tile) part-filled, row counts that leave
/// the last 6-row tile part-filled, inner sizes spanning several 256-blocks.
@Suite struct PackedProductTests {
    struct Shape: CustomStringConvertible, Sendable {
        let rows: Int, inner: Int, outer: Int
        var description: String { "\(rows)x\(inner) * (\(outer)x\(inner))^T" }
    }

    static let shapes = [
        Shape(rows: 1, inner: 3, outer: 1), Shape(rows: 7, inner: 300, outer: 17),
        Shape(rows: 13, inner: 600, outer: 33), Shape(rows: 6, inner: 256, outer: 16),
        Shape(rows: 64, inner: 513, outer: 50), Shape(rows: 16, inner: 64, outer: 112),
        // From 128 rows AVX-512 widens bf16 blocks once into L1 instead of per row tile.
        Shape(rows: 130, inner: 300, outer: 70),
    ]

    static let formats: [EngineOptions.Weights] = [.f32, .bf16]

    @Test func portableKernelIsAlwaysAvailable() throws {
        #expect(EngineOptions.supportedKernels.contains(.portable))
        #expect(try EngineOptions().resolvedKernel() == EngineOptions.supportedKernels.first)
        #expect(try EngineOptions(kernel: .portable).resolvedKernel() == .portable)
    }

    @Test func kernelsThisCPULacksAreRefusedNotRun() {
        for kernel in [EngineOptions.Kernel.avx512, .avx2] where !EngineOptions.supportedKernels.contains(kernel) {
            #expect(throws: EngineOptionsError.self) { try EngineOptions(kernel: kernel).resolvedKernel() }
        }
    }

    @Test(arguments: shapes, EngineOptions.supportedKernels)
    func matchesLonghandProduct(_ shape: Shape, kernel: EngineOptions.Kernel) {
        for format in Self.formats {
            for accumulate in [false, true] {
                check(shape, kernel: kernel, format: format, accumulate: accumulate)
            }
        }
    }

    /// Multiplies with `kernel` and compares with the product, in double precision, of the
    /// weights as held (bf16-rounded for `.bf16`), so what is checked is the kernel.
    func check(_ shape: Shape, kernel: EngineOptions.Kernel, format: EngineOptions.Weights, accumulate: Bool) {
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
                            bias: Tensor(shape: [shape.outer], values: bias), format: format, kernel: kernel)
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
                    let product = Double(inputs[row * inputStride + k]) * Double(linear.weight[column, k])
                    sum += product
                    magnitude += abs(product)
                }
                let error = abs(Double(results[row * shape.outer + column]) - sum) / max(magnitude, 1e-30)
                if error > worst.error { worst = (error, row, column) }
            }
        }
        #expect(worst.error < 1e-5,
                "\(kernel) \(format) accumulate \(accumulate) \(shape): relative error \(worst.error) at (\(worst.row), \(worst.column))")
    }

    @Test(arguments: formats)
    func packedWeightsReadBackEveryElement(_ format: EngineOptions.Weights) {
        // Small integers are exact in bf16 too.
        let values = (0..<(37 * 5)).map { Float($0) }
        let packed = PackedWeights(packing: Tensor(shape: [37, 5], values: values), format: format)
        #expect(packed.rows == 37 && packed.columns == 5)
        #expect(packed.count == 48 * 5, "three panels of 16, the last padded")
        #expect(packed.byteCount == 48 * 5 * (format == .bf16 ? 2 : 4))
        let mismatches = (0..<37).flatMap { row in (0..<5).filter { packed[row, $0] != values[row * 5 + $0] } }
        #expect(mismatches.isEmpty)
    }

    @Test func bf16PackingRoundsToNearestEven() {
        // 1 + 2^-8 is halfway between bf16 neighbours 1 and 1 + 2^-7: ties go to the even one (1);
        // 1 + 3 * 2^-8 is halfway between 1 + 2^-7 and 1 + 2^-6: ties go to 1 + 2^-6.
        let values: [Float] = [1 + 0x1p-8, 1 + 3 * 0x1p-8, 1 + 0x1p-8 + 0x1p-20, -2.5, .infinity, 0x1p-130]
        let packed = PackedWeights(packing: Tensor(shape: [values.count, 1], values: values), format: .bf16)
        let expected: [Float] = [1, 1 + 0x1p-6, 1 + 0x1p-7, -2.5, .infinity, 0x1p-130]
        #expect((0..<values.count).map { packed[$0, 0] } == expected)
        let nan = PackedWeights(packing: Tensor(shape: [1, 1], values: [.nan]), format: .bf16)
        #expect(nan[0, 0].isNaN)
    }
}
