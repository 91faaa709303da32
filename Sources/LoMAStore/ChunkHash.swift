/// Client-computed chained chunk hashes (sha256 of the parent hash and the chunk's token ids).
/// The store never computes them; it only checks their size so a truncated hash cannot alias.
enum ChunkHash {
    static let byteCount = 32

    static func validate(_ hashes: [[UInt8]]) throws(StoreError) {
        guard !hashes.isEmpty else { throw .invalidArgument("no chunk hashes given") }
        for (index, hash) in hashes.enumerated() where hash.count != byteCount {
            throw .invalidArgument("chunk hash \(index) has \(hash.count) bytes; expected \(byteCount) (sha256)")
        }
    }
}
