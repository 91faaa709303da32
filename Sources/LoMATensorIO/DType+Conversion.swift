/// Conversions between f32 and the 16-bit formats, written as branch-free integer arithmetic
/// over plain loops so the optimiser vectorises them; a per-element call into a runtime routine
/// (what `Float16` does on CPUs without F16C) would dominate loading a bf16 checkpoint.
/// Every source is read with unaligned loads because tensors arrive in network frames and
/// inside safetensors files at arbitrary offsets.
public enum DTypeConversion {
    /// Widens `count` elements of `dtype` at `source` (possibly unaligned) into f32.
    @inlinable
    public static func toFloat32(
        _ source: UnsafeRawPointer, dtype: DType, count: Int, into destination: UnsafeMutablePointer<Float>
    ) {
        switch dtype {
        case .f32:
            UnsafeMutableRawPointer(destination).copyMemory(from: source, byteCount: count * 4)
        case .bf16:
            for index in 0..<count {
                let bits = source.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)
                destination[index] = Float(bitPattern: UInt32(bits) << 16)
            }
        case .f16:
            for index in 0..<count {
                let bits = source.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)
                destination[index] = float32(fromHalfBits: bits)
            }
        }
    }

    /// Narrows `count` f32 values into `dtype` at `destination` (possibly unaligned), rounding
    /// to nearest even as PyTorch and numpy do.
    @inlinable
    public static func fromFloat32(
        _ source: UnsafePointer<Float>, count: Int, to dtype: DType, into destination: UnsafeMutableRawPointer
    ) {
        switch dtype {
        case .f32:
            destination.copyMemory(from: source, byteCount: count * 4)
        case .bf16:
            for index in 0..<count {
                destination.storeBytes(of: bfloat16Bits(source[index]), toByteOffset: index * 2, as: UInt16.self)
            }
        case .f16:
            for index in 0..<count {
                destination.storeBytes(of: halfBits(source[index]), toByteOffset: index * 2, as: UInt16.self)
            }
        }
    }

    /// IEEE binary16 to binary32 via the exponent-rebias trick: normals and infinities/NaNs are
    /// a shift and an add, subnormals are renormalised by a float subtraction.
    @inlinable
    public static func float32(fromHalfBits half: UInt16) -> Float {
        let h = UInt32(half)
        let sign = (h & 0x8000) << 16
        let magnitude = h & 0x7FFF
        let shifted = magnitude << 13
        let exponent = magnitude & 0x7C00
        let normal = Float(bitPattern: shifted &+ 0x3800_0000)  // rebias 15 -> 127
        let infNaN = Float(bitPattern: shifted | 0x7F80_0000)
        let subnormal = Float(bitPattern: shifted &+ 0x3880_0000) - Float(bitPattern: 0x3880_0000)
        let value = exponent == 0x7C00 ? infNaN : (exponent == 0 ? subnormal : normal)
        return Float(bitPattern: value.bitPattern | sign)
    }

    /// binary32 to bfloat16, round to nearest even; NaNs stay NaN (quietened).
    @inlinable
    public static func bfloat16Bits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        if value.isNaN { return UInt16(truncatingIfNeeded: (bits >> 16) | 0x0040) }
        let rounding = 0x7FFF &+ ((bits >> 16) & 1)
        return UInt16(truncatingIfNeeded: (bits &+ rounding) >> 16)
    }

    /// binary32 to binary16, round to nearest even, overflow to infinity, gradual underflow.
    @inlinable
    public static func halfBits(_ value: Float) -> UInt16 {
        let bits = value.bitPattern
        let sign = UInt16(truncatingIfNeeded: (bits >> 16) & 0x8000)
        let magnitude = bits & 0x7FFF_FFFF
        if magnitude >= 0x7F80_0000 {  // inf or NaN
            return sign | (magnitude > 0x7F80_0000 ? 0x7E00 : 0x7C00)
        }
        if magnitude >= 0x4780_0000 {  // >= 65536 rounds to inf
            return sign | 0x7C00
        }
        if magnitude < 0x3880_0000 {  // below the smallest normal half (2^-14): subnormal or zero
            // Adding 0.5 shifts the value so the float adder does the round-to-nearest-even.
            let shifted = Float(bitPattern: magnitude) + 0.5
            return sign | UInt16(truncatingIfNeeded: shifted.bitPattern &- Float(0.5).bitPattern)
        }
        let odd = (magnitude >> 13) & 1
        let rounded = magnitude &+ 0xC800_0FFF &+ odd  // rebias 127 -> 15, add rounding bias
        return sign | UInt16(truncatingIfNeeded: rounded >> 13)
    }
}
