import Foundation

/// Deterministic KV bytes for reliability tests: the same seed always gives the same values, so a
/// test can tell which of its attempts a stored memory came from without keeping every input.
public enum ReliabilityPayload {
    /// `count` little-endian f32 values in [-1, 1), from a SplitMix64 stream seeded with `seed`.
    public static func float32Bytes(count: Int, seed: UInt64) -> Data {
        var state = seed
        var bytes = Data(capacity: count * 4)
        for _ in 0..<count {
            state &+= 0x9E37_79B9_7F4A_7C15
            var mixed = state
            mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
            mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
            mixed ^= mixed >> 31
            let value = Float(mixed >> 40) / Float(1 << 23) - 1
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// `bytes` with the f32 at `index` replaced by `value` (NaN, infinity), for checks of finiteness.
    public static func replacingFloat32(_ bytes: Data, at index: Int, with value: Float) -> Data {
        var copy = bytes
        withUnsafeBytes(of: value.bitPattern.littleEndian) { raw in
            copy.replaceSubrange(copy.startIndex + index * 4 ..< copy.startIndex + index * 4 + 4, with: raw)
        }
        return copy
    }
}
