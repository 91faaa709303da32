/// A store shared by many daemons (on many hosts) behind the RAM and LMDB tiers: the third tier.
/// The store talks to it through this protocol, so it knows no sockets; `LoMASharedTier`
/// implements it on Redis/Valkey.
///
/// What the store relies on (docs/store.md, "Shared tier"):
/// - Segment bytes are content-addressed by `digest(ofSegment:model:)`: identical memory from any
///   daemon is stored once, and a segment, once stored, never changes.
/// - A sequence is one record (`SharedSequenceSnapshot`) replaced only by a compare-and-set on
///   its `version` (`storeSequence(replacing:)`), so concurrent appends from several daemons
///   serialize instead of overwriting each other.
/// - Every read verifies a checksum and the model identity; damaged or foreign data throws
///   `dataLoss` or `failedPrecondition` and is never returned.
/// - A tier that cannot be reached (down, slow, failing over) throws `unavailable`.
public protocol SharedTier: Sendable {
    /// Where the tier is (for `lomactl stats`, without credentials), and whether its last call
    /// to every node succeeded.
    var status: (location: String, up: Bool) { get }

    /// The 32-byte content address of an encoded segment of `model` (it covers the model's
    /// identity, the geometry, the dtype and the bytes, which the encoding carries).
    func digest(ofSegment bytes: [UInt8], model: String) -> [UInt8]

    /// The sequence's record, or nil when it does not exist.
    func loadSequence(tenant: String, name: String) throws(StoreError) -> SharedSequenceSnapshot?

    /// Writes `snapshot` if the stored record's version is `expected` (nil: only if absent).
    /// Returns false, writing nothing, when it is not.
    func storeSequence(tenant: String, name: String, snapshot: SharedSequenceSnapshot,
                       replacing expected: UInt64?) throws(StoreError) -> Bool

    /// Removes the sequence's record; false when there was none.
    func deleteSequence(tenant: String, name: String) throws(StoreError) -> Bool

    /// The records of `tenant` whose names start with `namePrefix`.
    func listSequences(tenant: String, namePrefix: String) throws(StoreError) -> [(name: String, snapshot: SharedSequenceSnapshot)]

    /// Stores segments (kept if already there) and makes every segment in `keepAlive` and in
    /// `segments` live at least until `expiresAtMilliseconds` (forever when nil).
    func storeSegments(model: String, _ segments: [(digest: [UInt8], bytes: [UInt8])], keepAlive: [[UInt8]],
                       expiresAtMilliseconds: Int64?) throws(StoreError)

    /// The segments' bytes, in order; a missing or damaged one throws `dataLoss`.
    func loadSegments(model: String, digests: [[UInt8]]) throws(StoreError) -> [[UInt8]]

    /// Publishes prefix entries (hash → segment digest); existing hashes keep their segment.
    /// Returns how many were new.
    func storePrefixes(tenant: String, model: String, entries: [(hash: [UInt8], digest: [UInt8])]) throws(StoreError) -> Int

    /// The segment digests of the longest prefix `hashes[0..<k]` that is entirely stored.
    func loadPrefixes(tenant: String, model: String, hashes: [[UInt8]]) throws(StoreError) -> [[UInt8]]
}
