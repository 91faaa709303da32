/// A cursor over a fuzz input that never fails: reads past the end give zeros or empty slices, so
/// every byte string is a valid input and the fuzzer spends its time in the code under test.
public struct FuzzBytes {
    private let bytes: [UInt8]
    private var offset = 0

    public init(_ bytes: [UInt8]) {
        self.bytes = bytes
    }

    public var isAtEnd: Bool { offset >= bytes.count }
    public var remainingCount: Int { max(0, bytes.count - offset) }

    public mutating func byte() -> UInt8 {
        guard offset < bytes.count else { return 0 }
        defer { offset += 1 }
        return bytes[offset]
    }

    /// A little-endian `UInt32`, short reads padded with zeros.
    public mutating func uint32() -> UInt32 {
        (0..<4).reduce(UInt32(0)) { value, shift in value | UInt32(byte()) << (8 * UInt32(shift)) }
    }

    /// Up to `count` bytes (fewer at the end of the input).
    public mutating func slice(_ count: Int) -> ArraySlice<UInt8> {
        let end = offset + min(count, remainingCount)
        defer { offset = end }
        return bytes[min(offset, bytes.count)..<end]
    }

    /// Everything not read yet.
    public mutating func rest() -> ArraySlice<UInt8> { slice(remainingCount) }
}
