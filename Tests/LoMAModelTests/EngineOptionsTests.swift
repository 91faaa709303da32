import Foundation
import LoMAModel
import LoMATensorIO
import LoMATestSupport
import Testing

/// The engine's weight formats and kernels on whole models: every kernel this CPU runs (forced
/// through `EngineOptions`, the parameter the daemon's `engine.kernel` setting feeds) against
/// the golden cases, and bf16 weights against the f32 reference.
@Suite struct EngineOptionsTests {
    @Test(arguments: EngineOptions.supportedKernels)
    func everyKernelMatchesTheGoldenCasesOnF32Weights(_ kernel: EngineOptions.Kernel) throws {
        for name in try fixtures.caseNames() {
            let fixtureCase = try fixtures.loadCase(name)
            let model = try LlamaModel.load(directory: fixtureCase.modelDirectory, options: EngineOptions(weights: .f32, kernel: kernel))
            #expect(model.kernel == kernel && model.weightFormat == .f32)
            try expectMatchesGolden(try compressCase(fixtureCase, model: model), fixtureCase)
        }
    }

    /// `auto` holds a bf16 checkpoint in bf16, and since widening bf16 is exact, the pass gives
    /// the very bits of the same weights held in f32, on every kernel.
    @Test(arguments: EngineOptions.supportedKernels)
    func bf16CheckpointInBF16GivesTheF32ResultBitForBit(_ kernel: EngineOptions.Kernel) throws {
        let cases = try fixtures.caseNames().map(fixtures.loadCase).filter { $0.description.model == "llama3_v5_bf16" }
        #expect(!cases.isEmpty)
        for fixtureCase in cases {
            let held = try LlamaModel.load(directory: fixtureCase.modelDirectory, options: EngineOptions(kernel: kernel))
            let reference = try LlamaModel.load(directory: fixtureCase.modelDirectory, options: EngineOptions(weights: .f32, kernel: kernel))
            #expect(held.weightFormat == .bf16 && reference.weightFormat == .f32)
            #expect(held.weightBytes < reference.weightBytes * 6 / 10, "\(held.weightBytes) vs \(reference.weightBytes)")
            let result = try compressCase(fixtureCase, model: held)
            let expected = try compressCase(fixtureCase, model: reference)
            #expect(result.keys.scalars == expected.keys.scalars && result.values.scalars == expected.values.scalars)
        }
    }

    /// f32 checkpoints stay f32 under `auto` (bf16 would round them).
    @Test func autoKeepsF32CheckpointsInF32() throws {
        let model = try LlamaModel.load(directory: fixtures.model("llama_gqa"))
        #expect(model.weightFormat == .f32)
    }

    /// Forcing bf16 on f32 checkpoints rounds every weight (relative error 2^-9 at most), which
    /// the pass turns into a bounded error in the memory KV. Measured on every golden case; the
    /// bound is what docs/engine.md reports, with room for the fixtures' random weights.
    @Test func bf16WeightsOfF32CheckpointsStayWithinTheBound() throws {
        var worst = 0.0
        for name in try fixtures.caseNames() {
            let fixtureCase = try fixtures.loadCase(name)
            let rounded = try LlamaModel.load(directory: fixtureCase.modelDirectory, options: EngineOptions(weights: .bf16))
            let reference = try LlamaModel.load(directory: fixtureCase.modelDirectory, options: EngineOptions(weights: .f32))
            #expect(rounded.weightFormat == .bf16)
            let result = try compressCase(fixtureCase, model: rounded)
            let expected = try compressCase(fixtureCase, model: reference)
            let error = max(KVFileComparison.relativeError(result.keys, expected.keys),
                            KVFileComparison.relativeError(result.values, expected.values))
            #expect(error < 1e-2, "\(name): bf16 against f32 relative error \(error)")
            if reference.checkpointDType != "BF16", fixtureCase.method == .loma {
                // Rounding must actually have happened on an f32/f16 checkpoint.
                #expect(error > 0, "\(name): bf16 weights gave exactly the f32 result")
            }
            worst = max(worst, error)
        }
        print("bf16 weights against f32, worst relative error over the golden cases: \(worst)")
    }
}
