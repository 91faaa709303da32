/// Counters and tier sizes for the daemon's stats reply and for operators sizing the budgets.
public struct StoreStatistics: Equatable, Sendable {
    /// Live sequences (expired ones not yet purged are counted until they are).
    public var sequences = 0
    public var prefixEntries = 0
    /// Encoded segment bytes and segment count held in RAM.
    public var ramBytes = 0
    public var ramSegments = 0
    public var ramBudgetBytes = 0
    /// Segments dropped from RAM to stay within budget (durable mode; they stay on disk).
    public var ramEvictions = 0
    /// Segment reads served from RAM, and reads that had to decode from LMDB.
    public var ramHits = 0
    public var ramMisses = 0
    /// Segments and bytes on disk (durable mode): encoded segment bytes, and the LMDB file's
    /// used pages, which include records, the B+tree and free pages.
    public var durableSegments = 0
    public var durableSegmentBytes = 0
    public var durableFileBytes = 0
    public var mapSizeBytes = 0
    /// Prefix lookups and the chunks they found.
    public var prefixLookups = 0
    public var prefixChunksFound = 0
    /// Sequences removed because their time to live passed.
    public var expiredPurged = 0
    /// Reads refused with `dataLoss` because the stored record failed its checksum, was missing
    /// or was damaged at open (durable mode).
    public var damagedReads = 0
    /// Segment reads from LMDB of records written before checksums (schema 1), served unverified.
    public var unverifiedReads = 0
    /// Records found damaged when the store opened: sequence records and prefix entries that
    /// failed their checksum, and segments that sequences refer to but LMDB no longer holds.
    public var damagedRecords = 0
    /// Sequence records and prefix entries without a checksum (schema 1) found at open.
    public var uncheckedRecords = 0
    /// Shared tier: sequences and prefix chunks copied from it into the local tiers (a local
    /// miss or a stale local copy).
    /// Shared tier: where it is ("" when none is configured) and whether it answers.
    public var sharedTier = ""
    public var sharedTierUp = false
    public var sharedReadThroughs = 0
    /// Shared tier: reads served from the local tiers because the shared tier was unavailable.
    public var sharedLocalFallbacks = 0
    /// Shared tier: appends that lost a version race to another daemon and were re-read.
    public var sharedConflicts = 0
    /// Shared tier: writes refused with `unavailable` because it could not be reached.
    public var sharedUnavailableWrites = 0
}
