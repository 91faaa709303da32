/// Chained chunk hashes that name published prefixes (`PublishPrefixRequest`): chunk i covers
/// tokens `[i * segmentLength, (i + 1) * segmentLength)` and its hash is
/// `sha256(hash of chunk i-1 || token ids of chunk i as little-endian u32)`, the first chunk's
/// parent being 32 zero bytes. Chaining makes a hash name the whole prefix up to its chunk, so
/// two processes agree on a hash only when every earlier token agrees too. The Python and C
/// clients compute the same bytes.
public enum ChunkHash {
    public static let byteCount = 32

    /// One hash per whole chunk of `tokenIDs`; a trailing partial chunk has none.
    /// - Precondition: `segmentLength > 0` (the model's segment length).
    public static func chain(tokenIDs: [UInt32], segmentLength: Int) -> [[UInt8]] {
        precondition(segmentLength > 0, "segment length must be positive")
        var hashes: [[UInt8]] = []
        var parent = [UInt8](repeating: 0, count: byteCount)
        var start = 0
        while start + segmentLength <= tokenIDs.count {
            var message = parent
            message.reserveCapacity(byteCount + 4 * segmentLength)
            for id in tokenIDs[start..<(start + segmentLength)] {
                message += [UInt8(truncatingIfNeeded: id), UInt8(truncatingIfNeeded: id >> 8),
                            UInt8(truncatingIfNeeded: id >> 16), UInt8(truncatingIfNeeded: id >> 24)]
            }
            parent = SHA256.hash(message)
            hashes.append(parent)
            start += segmentLength
        }
        return hashes
    }
}
