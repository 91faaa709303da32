/// The digest of everything a caller can observe: live sequences (name, model, geometry,
/// positions, expiry, segment bytes) and prefix entries, in a canonical order. Statistics and
/// the LRU order are deliberately left out, since reads change them.
extension StoreState {
    func digest(now: Int64) throws(StoreError) -> [UInt8] {
        try requireOpen()
        var digest = ContentDigest()
        for (key, record) in sequences.sorted(by: { $0.key < $1.key }) where !record.isExpired(now: now) {
            digest.update(field: key.lmdbKey)
            digest.update(field: record.encodedWithoutSegmentIDs)
            for id in record.segments { digest.update(field: try peekSegmentBytes(id)) }
        }
        for (key, entry) in prefixes.sorted(by: { $0.key < $1.key }) {
            digest.update(field: key.lmdbKey)
            digest.update(field: try peekSegmentBytes(entry.segment))
        }
        return digest.bytes
    }
}

extension SequenceRecord {
    /// The record with segment ids zeroed: ids are an internal detail of how segments are shared,
    /// while the segments' bytes (hashed separately) are what a caller sees.
    var encodedWithoutSegmentIDs: [UInt8] {
        var copy = self
        copy.segments = segments.map { _ in SegmentID(rawValue: 0) }
        return copy.encoded
    }
}
