import Foundation
import LoMAStore
import Testing

@Suite("int8 per-channel storage")
struct QuantizationTests {
    /// A Llama-like geometry: 64-token segments compressed 4× into 16 memory tokens.
    private static let shape = MemoryShape(layers: 4, kvHeads: 4, headDim: 64)
    private static let tokens = 16

    @Test("int8 storage adds under 1% relative error on KV-like data and takes under 40% of the bytes", arguments: StoreKind.allCases)
    func errorBound(kind: StoreKind) throws {
        let exact = try harnessStore(kind, .none)
        defer { exact.finish() }
        let quantized = try harnessStore(kind, .int8PerChannel)
        defer { quantized.finish() }
        let segments = try (0..<4).map { try RealisticKV.segment(shape: Self.shape, tokens: Self.tokens, sourceStart: Int64($0 * 64), seed: UInt64($0)) }
        for store in [exact.store, quantized.store] {
            try store.append(sequence: "s", model: "llama-like", segments: segments)
        }
        #expect(try exact.store.read(sequence: "s") == segments)
        let restored = try quantized.store.read(sequence: "s")
        let keyError = relativeError(segments.flatMap(\.keys), restored.flatMap(\.keys))
        let valueError = relativeError(segments.flatMap(\.values), restored.flatMap(\.values))
        print("int8 per-channel relative error (\(kind)): keys \(keyError), values \(valueError); bytes \(quantized.store.statistics.ramBytes) vs \(exact.store.statistics.ramBytes)")
        #expect(keyError > 0 && keyError < 0.01)
        #expect(valueError > 0 && valueError < 0.01)
        // Everything except the KV itself is kept exactly.
        #expect(restored.map(\.positions) == segments.map(\.positions))
        #expect(restored.map(\.sourceStart) == segments.map(\.sourceStart))
        #expect(Double(quantized.store.statistics.ramBytes) < 0.4 * Double(exact.store.statistics.ramBytes))
    }

    @Test("Quantized memory reads back identically from RAM, from LMDB and after a restart")
    func stableAcrossTiers() throws {
        let harness = try TestStore(.durable, ramBudgetBytes: 1, quantization: .int8PerChannel)
        defer { harness.finish() }
        let segment = try RealisticKV.segment(shape: Self.shape, tokens: Self.tokens, sourceStart: 0, seed: 11)
        try harness.store.append(sequence: "s", model: "llama-like", segments: [segment])
        let first = try harness.store.read(sequence: "s")
        try harness.reopen()
        #expect(try harness.store.read(sequence: "s") == first)
        #expect(first != [segment])
    }

    @Test("A channel that is all zeros stays exactly zero")
    func zeroChannel() throws {
        let harness = try TestStore(.memory, quantization: .int8PerChannel)
        defer { harness.finish() }
        let shape = MemoryShape(layers: 1, kvHeads: 1, headDim: 2)
        let keys: [Float] = [0, 1.5, 0, -3, 0, 0.25]
        let segment = try MemorySegment(keys: keys, values: keys, positions: [1, 2, 3], shape: shape, tokens: 3,
                                        sourceStart: 0, sourceLength: 4)
        try harness.store.append(sequence: "s", model: "m", segments: [segment])
        let restored = try #require(try harness.store.read(sequence: "s").first)
        #expect(restored.keys.enumerated().filter { $0.offset % 2 == 0 }.allSatisfy { $0.element == 0 })
        // The channel's largest magnitude is exactly representable (it defines the scale).
        #expect(restored.keys[3] == -3)
    }

    private func harnessStore(_ kind: StoreKind, _ quantization: StoreConfiguration.Quantization) throws -> TestStore {
        try TestStore(kind, quantization: quantization)
    }

    private func relativeError(_ reference: [Float], _ approximation: [Float]) -> Double {
        var difference = 0.0
        var norm = 0.0
        for (exact, approximate) in zip(reference, approximation) {
            difference += Double(exact - approximate) * Double(exact - approximate)
            norm += Double(exact) * Double(exact)
        }
        return (difference / norm).squareRoot()
    }
}

/// Synthetic memory KV with the statistics that make real KV hard to quantize: keys have
/// per-channel offsets, a spread of channel magnitudes and a few outlier channels (as reported
/// for Llama keys), then RoPE (rotate-half, theta 10000) at the memory tokens' positions; values
/// are zero-mean with milder per-channel spread.
enum RealisticKV {
    static func segment(shape: MemoryShape, tokens: Int, sourceStart: Int64, seed: UInt64) throws -> MemorySegment {
        var generator = SeededGenerator(seed: seed)
        let ratio = Int64(64 / tokens)
        let positions = (0..<Int64(tokens)).map { sourceStart + ($0 + 1) * ratio - 1 }
        let headDim = shape.headDim
        let half = headDim / 2
        var keys: [Float] = []
        var values: [Float] = []
        for _ in 0..<(shape.layers * shape.kvHeads) {
            let magnitude = (0..<headDim).map { channel -> Float in
                let outlier: Float = channel % half < 2 ? 8 : 1
                return outlier * Float(Foundation.exp(0.8 * Double(generator.nextGaussian())))
            }
            let offset = (0..<headDim).map { _ in generator.nextGaussian() }
            let valueScale = (0..<headDim).map { _ in Float(Foundation.exp(0.5 * Double(generator.nextGaussian()))) }
            for position in positions {
                let raw = (0..<headDim).map { magnitude[$0] * (offset[$0] + generator.nextGaussian()) }
                for channel in 0..<headDim {
                    let pair = channel % half
                    let angle = Double(position) * Foundation.pow(10_000, -2 * Double(pair) / Double(headDim))
                    let (cosine, sine) = (Float(Foundation.cos(angle)), Float(Foundation.sin(angle)))
                    let rotated = channel < half ? -raw[channel + half] : raw[channel - half]
                    keys.append(raw[channel] * cosine + rotated * sine)
                    values.append(valueScale[channel] * generator.nextGaussian())
                }
            }
        }
        return try MemorySegment(keys: keys, values: values, positions: positions, shape: shape, tokens: tokens,
                                 sourceStart: sourceStart, sourceLength: 64)
    }
}
