/// Appends fixed-width little-endian fields to a byte buffer: the one encoding used for every
/// record the store writes (segments, sequence records, keys), so files read the same on any host.
struct BinaryWriter {
    private(set) var bytes: [UInt8] = []

    init(capacity: Int = 0) {
        bytes.reserveCapacity(capacity)
    }

    mutating func write<Integer: FixedWidthInteger>(_ value: Integer) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    mutating func write(_ value: Float) {
        write(value.bitPattern)
    }

    /// A length-prefixed UTF-8 string.
    mutating func write(_ string: String) {
        let utf8 = Array(string.utf8)
        write(UInt32(utf8.count))
        bytes.append(contentsOf: utf8)
    }

    mutating func write(raw: some Sequence<UInt8>) {
        bytes.append(contentsOf: raw)
    }

    /// Segment tensors are megabytes, so on little-endian hosts (all supported ones) they are
    /// copied as one block instead of value by value.
    mutating func write(floats: [Float]) {
        #if _endian(little)
        floats.withUnsafeBytes { bytes.append(contentsOf: $0) }
        #else
        bytes.reserveCapacity(bytes.count + floats.count * 4)
        for value in floats { write(value.bitPattern) }
        #endif
    }
}
