import CLoMAChecksum
import LoMAStore

/// How every value the shared tier writes is wrapped, so every read can refuse damaged or
/// foreign data: magic `LOMA`, format 1, the kind of record, the model identity it was made
/// with, the payload, and a CRC-32C over the Redis key and everything before the checksum (so a
/// value copied under another key fails too).
///
///     "LOMA" | format u8 | kind u8 | identity: u16 length + UTF-8 | payload: u32 length + bytes | crc32c u32
///
/// All integers little-endian.
enum SharedTierEnvelope {
    enum Kind: UInt8 {
        case sequence = 0x73 // "s"
        case segment = 0x62 // "b"
        case prefix = 0x70 // "p"
    }

    static let magic = Array("LOMA".utf8)
    static let format: UInt8 = 1

    static func wrap(_ payload: [UInt8], kind: Kind, identity: String, key: [UInt8]) -> [UInt8] {
        let identityBytes = Array(identity.utf8.prefix(Int(UInt16.max)))
        var bytes = magic
        bytes.reserveCapacity(payload.count + identityBytes.count + 16)
        bytes.append(format)
        bytes.append(kind.rawValue)
        append(UInt16(identityBytes.count), to: &bytes)
        bytes += identityBytes
        append(UInt32(payload.count), to: &bytes)
        bytes += payload
        append(checksum(key: key, bytes[...]), to: &bytes)
        return bytes
    }

    /// The payload and the identity it was made with; `dataLoss` naming `what` when the value
    /// is damaged, truncated or of another kind.
    static func unwrap(_ bytes: [UInt8], kind: Kind, key: [UInt8], what: String) throws(StoreError) -> (identity: String, payload: [UInt8]) {
        let damaged = StoreError(.dataLoss, "\(what) in the shared tier is damaged")
        guard bytes.count >= 16, Array(bytes[0..<4]) == magic else { throw damaged }
        let stored = read(UInt32.self, bytes, at: bytes.count - 4)
        guard stored == checksum(key: key, bytes[..<(bytes.count - 4)]) else {
            throw StoreError(.dataLoss, "\(what) in the shared tier failed its checksum; it is not served")
        }
        guard bytes[4] == format else { throw StoreError(.dataLoss, "\(what) in the shared tier has format \(bytes[4]); this build reads format \(format)") }
        guard bytes[5] == kind.rawValue else { throw damaged }
        let identityLength = Int(read(UInt16.self, bytes, at: 6))
        let payloadAt = 8 + identityLength + 4
        guard payloadAt <= bytes.count - 4 else { throw damaged }
        let identity = String(decoding: bytes[8..<(8 + identityLength)], as: UTF8.self)
        let payloadLength = Int(read(UInt32.self, bytes, at: 8 + identityLength))
        guard payloadAt + payloadLength == bytes.count - 4 else { throw damaged }
        return (identity, Array(bytes[payloadAt..<(payloadAt + payloadLength)]))
    }

    private static func checksum(key: [UInt8], _ bytes: ArraySlice<UInt8>) -> UInt32 {
        let keyChecksum = key.withUnsafeBytes { loma_crc32c(0, $0.baseAddress, $0.count) }
        return bytes.withUnsafeBytes { loma_crc32c(keyChecksum, $0.baseAddress, $0.count) }
    }

    private static func append<Integer: FixedWidthInteger>(_ value: Integer, to bytes: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
    }

    private static func read<Integer: FixedWidthInteger>(_: Integer.Type, _ bytes: [UInt8], at offset: Int) -> Integer {
        bytes.withUnsafeBytes { Integer(littleEndian: $0.loadUnaligned(fromByteOffset: offset, as: Integer.self)) }
    }
}
