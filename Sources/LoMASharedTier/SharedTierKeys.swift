/// The shared tier's Redis key schema, version 1 (docs/store.md, "Shared tier"). Names, tenants
/// and model identities are hex-encoded, so no byte of theirs can end a hash tag or match a
/// SCAN pattern by accident; `{...}` marks the hash tag that decides the Redis Cluster slot.
///
/// | key | type | holds |
/// |---|---|---|
/// | `lomad:v1:seq:{TENANT.NAME}` | hash `v`, `r` | the sequence's version, its record |
/// | `lomad:v1:seg:MODEL:DIGEST` | string | one encoded segment (content-addressed) |
/// | `lomad:v1:pfx:{MODEL.TENANT}:HASH` | string | the digest of a prefix chunk's segment |
///
/// MODEL is the first 16 bytes of the BLAKE2b hash of the model identity (the full identity is in
/// every value and checked on every read). A tenant's prefix entries of one model share a slot,
/// so one MGET looks up a whole chain; segments spread over the cluster.
struct SharedTierKeys {
    static let schema = "lomad:v1"

    static func sequence(tenant: String, name: String) -> [UInt8] {
        Array("\(schema):seq:{\(hex(tenant)).\(hex(name))}".utf8)
    }

    /// The SCAN pattern matching every sequence of `tenant` whose name starts with `namePrefix`.
    static func sequencePattern(tenant: String, namePrefix: String) -> [UInt8] {
        Array("\(schema):seq:{\(hex(tenant)).\(hex(namePrefix))*".utf8)
    }

    /// The name a sequence key holds, nil for another key.
    static func name(inSequenceKey key: [UInt8]) -> String? {
        let text = String(decoding: key, as: UTF8.self)
        guard text.hasSuffix("}"), let dot = text.lastIndex(of: ".") else { return nil }
        return unhex(text[text.index(after: dot)..<text.index(before: text.endIndex)])
    }

    static func segment(model: [UInt8], digest: [UInt8]) -> [UInt8] {
        Array("\(schema):seg:\(hex(model)):\(hex(digest))".utf8)
    }

    static func prefix(model: [UInt8], tenant: String, hash: [UInt8]) -> [UInt8] {
        Array("\(schema):pfx:{\(hex(model)).\(hex(tenant))}:\(hex(hash))".utf8)
    }

    static func hex(_ text: String) -> String { hex(Array(text.utf8)) }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0xf)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func unhex(_ text: Substring) -> String? {
        let utf8 = Array(text.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        var index = 0
        while index < utf8.count {
            guard let value = UInt8(String(decoding: utf8[index..<(index + 2)], as: UTF8.self), radix: 16) else { return nil }
            bytes.append(value)
            index += 2
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
