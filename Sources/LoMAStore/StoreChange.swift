/// One atomic modification of the store, built and validated before anything is touched, then
/// committed to LMDB in one transaction (durable mode) and only then applied to RAM. That order
/// is what makes every failed call leave the store unchanged.
struct StoreChange {
    var newSegments: [(id: SegmentID, bytes: [UInt8])] = []
    var sequencePuts: [SequenceKey: SequenceRecord] = [:]
    var sequenceDeletes: Set<SequenceKey> = []
    var prefixPuts: [PrefixKey: PrefixEntry] = [:]
    /// How many of `sequenceDeletes` (or replaced records) are expired sequences being purged.
    var expiredPurges = 0

    var addedBytes: Int { newSegments.reduce(0) { $0 + $1.bytes.count } }
}
