import CLoMAChecksum

/// CRC-32C of a stored record: its LMDB key followed by its value, so a value that a damaged
/// page hands back under the wrong key (a flipped key byte, a flipped overflow page number) fails
/// the check as surely as a flipped value byte.
///
/// CRC-32C rather than a 64-bit hash: what it guards against is storage damage, not an
/// adversary, and a CRC detects every burst of up to 32 flipped bits and every 1-, 2- and 3-bit
/// error in records far larger than a segment, which no hash promises; the SSE4.2 instruction
/// runs at 5-10 GB/s, about the cost of one more copy of the record (see docs/store.md).
enum RecordChecksum {
    static func of(key: [UInt8], value: UnsafeRawBufferPointer) -> UInt32 {
        let keyChecksum = key.withUnsafeBytes { loma_crc32c(0, $0.baseAddress, $0.count) }
        return loma_crc32c(keyChecksum, value.baseAddress, value.count)
    }

    static func of(key: [UInt8], value: [UInt8]) -> UInt32 {
        value.withUnsafeBytes { of(key: key, value: $0) }
    }

    /// The checksum as stored in the `checksums` database: 4 bytes, little-endian.
    static func encoded(_ checksum: UInt32) -> [UInt8] {
        withUnsafeBytes(of: checksum.littleEndian, Array.init)
    }
}
