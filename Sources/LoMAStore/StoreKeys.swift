/// Identifies a stored segment. Segments are immutable and shared by reference between
/// sequences (forks) and prefix entries; the id is that reference, in RAM and in LMDB.
struct SegmentID: Hashable, Comparable {
    let rawValue: UInt64

    static func < (lhs: SegmentID, rhs: SegmentID) -> Bool { lhs.rawValue < rhs.rawValue }

    /// Big-endian, so LMDB's byte order is id order and the last key is the largest id.
    var lmdbKey: [UInt8] { withUnsafeBytes(of: rawValue.bigEndian, Array.init) }

    init(rawValue: UInt64) { self.rawValue = rawValue }

    init(lmdbKey: UnsafeRawBufferPointer) throws(StoreError) {
        guard lmdbKey.count == 8 else { throw .internalError("segment key of \(lmdbKey.count) bytes; expected 8") }
        rawValue = UInt64(bigEndian: lmdbKey.loadUnaligned(as: UInt64.self))
    }
}

/// A sequence's name within its tenant. Stored as `tenant NUL name`, which names can never contain.
struct SequenceKey: Hashable, Comparable {
    let tenant: String
    let name: String

    static func < (lhs: SequenceKey, rhs: SequenceKey) -> Bool { (lhs.tenant, lhs.name) < (rhs.tenant, rhs.name) }

    var lmdbKey: [UInt8] { Array(tenant.utf8) + [0] + Array(name.utf8) }

    init(tenant: String, name: String) {
        self.tenant = tenant
        self.name = name
    }

    init(lmdbKey: UnsafeRawBufferPointer) throws(StoreError) {
        let parts = lmdbKey.split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw .internalError("sequence key without a tenant separator") }
        tenant = String(decoding: parts[0], as: UTF8.self)
        name = String(decoding: parts[1], as: UTF8.self)
    }
}

/// Where prefix entries of one model live: hashes are only comparable within a tenant and model.
struct PrefixNamespace: Hashable {
    let tenant: String
    let model: String
}

/// One prefix entry's address: `tenant NUL model NUL hash` in LMDB.
struct PrefixKey: Hashable, Comparable {
    let namespace: PrefixNamespace
    let chunkHash: [UInt8]

    static func < (lhs: PrefixKey, rhs: PrefixKey) -> Bool { lhs.lmdbKey.lexicographicallyPrecedes(rhs.lmdbKey) }

    var lmdbKey: [UInt8] { Array(namespace.tenant.utf8) + [0] + Array(namespace.model.utf8) + [0] + chunkHash }

    init(namespace: PrefixNamespace, chunkHash: [UInt8]) {
        self.namespace = namespace
        self.chunkHash = chunkHash
    }

    init(lmdbKey: UnsafeRawBufferPointer) throws(StoreError) {
        let bytes = Array(lmdbKey)
        guard bytes.count > ChunkHash.byteCount + 1 else { throw .internalError("prefix key of \(bytes.count) bytes is too short") }
        let hashStart = bytes.count - ChunkHash.byteCount
        let names = bytes[..<(hashStart - 1)].split(separator: 0, maxSplits: 1, omittingEmptySubsequences: false)
        guard names.count == 2, bytes[hashStart - 1] == 0 else { throw .internalError("prefix key without tenant/model separators") }
        namespace = PrefixNamespace(tenant: String(decoding: names[0], as: UTF8.self),
                                    model: String(decoding: names[1], as: UTF8.self))
        chunkHash = Array(bytes[hashStart...])
    }
}
