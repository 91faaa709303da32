import LoMATensorIO
import Testing

/// The 16-bit conversions against independent definitions: Swift's own `Float16` for IEEE half
/// and the bit layout of bfloat16 (the top half of a binary32), including rounding ties.
@Suite struct DTypeConversionTests {
    #if arch(x86_64) || arch(arm64)
    @Test func halfToFloatMatchesFloat16ForEveryBitPattern() {
        var mismatches = 0
        for bits in 0...UInt16.max {
            let expected = Float(Float16(bitPattern: bits))
            let actual = DTypeConversion.float32(fromHalfBits: bits)
            if !(expected.isNaN ? actual.isNaN : actual.bitPattern == expected.bitPattern) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func floatToHalfMatchesFloat16RoundingOnSampledFloats() {
        var generator = SystemRandomNumberGenerator()
        var mismatches: [UInt32] = []
        // Random bit patterns cover every exponent (subnormals, overflow, NaN); the extra values
        // are the exact rounding ties and boundaries.
        let edges: [UInt32] = [0x3880_0000, 0x3880_1000, 0x387F_F000, 0x477F_E000, 0x477F_F000, 0x4780_0000, 0x3300_0000, 0x3300_0001, 0x3F80_1000, 0x3F80_3000]
        for pattern in edges + (0..<200_000).map({ _ in UInt32.random(in: 0...UInt32.max, using: &generator) }) {
            let value = Float(bitPattern: pattern)
            let expected = Float16(value)
            let actual = DTypeConversion.halfBits(value)
            let same = value.isNaN ? Float16(bitPattern: actual).isNaN : actual == expected.bitPattern
            if !same { mismatches.append(pattern) }
        }
        #expect(mismatches.isEmpty, "first mismatches: \(mismatches.prefix(5).map { String($0, radix: 16) })")
    }
    #endif

    @Test func bfloat16RoundsToNearestEven() {
        #expect(DTypeConversion.bfloat16Bits(1) == 0x3F80)
        #expect(DTypeConversion.bfloat16Bits(Float(bitPattern: 0x3F80_8000)) == 0x3F80)  // tie, even below
        #expect(DTypeConversion.bfloat16Bits(Float(bitPattern: 0x3F81_8000)) == 0x3F82)  // tie, even above
        #expect(DTypeConversion.bfloat16Bits(Float(bitPattern: 0x3F80_8001)) == 0x3F81)  // above tie
        #expect(DTypeConversion.bfloat16Bits(-.infinity) == 0xFF80)
        #expect(Float(bitPattern: UInt32(DTypeConversion.bfloat16Bits(.nan)) << 16).isNaN)
    }

    @Test(arguments: DType.allCases)
    func bufferRoundTripIsExactForRepresentableValues(_ dtype: DType) {
        // Values with few mantissa bits survive every format exactly.
        let values: [Float] = [0, -0.0, 1, -2.5, 0.15625, 1024, -65504 / 8, 3.0e-5]
        var encoded = [UInt8](repeating: 0xAA, count: values.count * dtype.byteSize + 1)
        var decoded = [Float](repeating: .nan, count: values.count)
        encoded.withUnsafeMutableBytes { raw in
            // Offset by one byte: frames and file tensors are not aligned.
            values.withUnsafeBufferPointer { DTypeConversion.fromFloat32($0.baseAddress!, count: values.count, to: dtype, into: raw.baseAddress! + 1) }
            decoded.withUnsafeMutableBufferPointer { DTypeConversion.toFloat32(raw.baseAddress! + 1, dtype: dtype, count: values.count, into: $0.baseAddress!) }
        }
        let tolerance: Float = dtype == .f32 ? 0 : (dtype == .f16 ? 1e-3 : 1e-2)
        for (value, result) in zip(values, decoded) {
            #expect(abs(value - result) <= tolerance * abs(value), "\(dtype): \(value) -> \(result)")
        }
    }
}
