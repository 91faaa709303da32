import Foundation

/// A 64-bit FNV-1a hash of everything fed to it, for store digests: two digests taken in one
/// test run are equal exactly when the same bytes went in, in the same order (up to collisions).
public struct ReliabilityContentHash: Equatable, Sendable, CustomStringConvertible {
    public private(set) var value: UInt64 = 0xCBF2_9CE4_8422_2325

    public init() {}

    public mutating func combine(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
    }

    public mutating func combine(_ string: String) {
        combine(Array(string.utf8))
        combine([0])
    }

    public mutating func combine<Integer: FixedWidthInteger>(_ integer: Integer) {
        withUnsafeBytes(of: integer.littleEndian) { combine($0) }
    }

    public var description: String { String(value, radix: 16) }
}
