import Foundation
import Synchronization

/// The compressed-memory store: per-tenant sequences of memory segments and prefix-addressed
/// memory, in RAM or in RAM in front of LMDB (see `StoreConfiguration.Mode`). "Memory" is the
/// LoMA memory it holds, not where it keeps it: the same store is the durable one.
///
/// Thread-safe: the daemon's workers call it concurrently. One mutex guards the catalogue and
/// tiers; encoding and decoding segments (the per-byte work, including int8 quantization) happen
/// outside it. Every call either completes or throws leaving the store unchanged.
public final class CompressedMemoryStore: Sendable {
    /// The tenant of clients the daemon has no other name for: local ipc clients whose uid the
    /// clients file does not list, and clients of plain (unauthenticated) tcp endpoints.
    public static let defaultTenant = "local"

    let state: Mutex<StoreState>
    let quantization: StoreConfiguration.Quantization
    /// Whether every call works on RAM alone (memory mode, no shared tier): no call then waits on
    /// disk or on the network, neither its own nor, through the store's lock, another's commit.
    public let isMemoryOnly: Bool
    let clock: @Sendable () -> Date
    let sharedTier: (any SharedTier)?

    /// Opens the store. In durable mode this creates or opens the LMDB environment in the
    /// directory and restores every committed write.
    /// - Parameter clock: what "now" is for expiry (set by a TTL, checked by every read and by
    ///   `purgeExpired`). Wall-clock time, because expiry instants are stored and must survive a
    ///   restart; tests pass a clock they move, so a TTL passes without waiting for it.
    public init(configuration: StoreConfiguration, clock: @escaping @Sendable () -> Date = Date.init) throws(StoreError) {
        state = Mutex(try StoreState(configuration: configuration))
        quantization = configuration.quantization
        sharedTier = configuration.sharedTier
        isMemoryOnly = configuration.mode == .memory && configuration.sharedTier == nil
        self.clock = clock
    }

    deinit { close() }

    /// Closes the LMDB environment (durable mode) so the directory can be opened again; later
    /// calls fail with `failedPrecondition`. Safe to call more than once.
    public func close() {
        state.withLock { $0.close() }
    }

    /// Appends `segments` to a sequence atomically, creating it if absent (or expired).
    ///
    /// - Parameters:
    ///   - ttl: sets the expiry to now + ttl; nil keeps the sequence's current expiry (none for a
    ///     new sequence).
    ///   - expectedSegmentCount: the `segmentCount` the caller based this memory on (0 for a new
    ///     sequence); when it differs the append fails with `failedPrecondition`, so two
    ///     concurrent compresses cannot both extend the same base.
    /// - Returns: the sequence after the append. In durable mode it is committed to disk.
    @discardableResult
    public func append(tenant: String = CompressedMemoryStore.defaultTenant, sequence: String, model: String,
                       segments: [MemorySegment], ttl: Duration? = nil,
                       expectedSegmentCount: Int? = nil) throws(StoreError) -> SequenceInfo {
        let key = try Self.sequenceKey(tenant, sequence)
        try StoreName.validate(model, field: "model")
        let now = nowMilliseconds()
        let expiresAt = try ttl.map { (ttl) throws(StoreError) in try Self.expiry(after: ttl, now: now) }
        let encoded = segments.map { SegmentCodec.encode($0, quantization: quantization) }
        if let sharedTier {
            return try sharedAppend(sharedTier, key, model: model, segments: segments, encoded: encoded, expiresAt: expiresAt,
                                    expectedSegmentCount: expectedSegmentCount, now: now)
        }
        return try state.withLock { (state) throws(StoreError) in
            try state.append(key, model: model, segments: segments, encoded: encoded, expiresAt: expiresAt,
                             expectedSegmentCount: expectedSegmentCount, now: now)
        }
    }

    public func sequenceInfo(tenant: String = CompressedMemoryStore.defaultTenant, sequence: String) throws(StoreError) -> SequenceInfo {
        let key = try Self.sequenceKey(tenant, sequence)
        let now = nowMilliseconds()
        if let sharedTier, let info = try sharedInfo(sharedTier, key, now: now) { return info }
        return try state.withLock { (state) throws(StoreError) in try state.info(key, now: now) }
    }

    /// The sequence's segments in `range` of segment indices (all of them when nil), in order.
    public func read(tenant: String = CompressedMemoryStore.defaultTenant, sequence: String,
                     segments range: Range<Int>? = nil) throws(StoreError) -> [MemorySegment] {
        let key = try Self.sequenceKey(tenant, sequence)
        let now = nowMilliseconds()
        if let sharedTier, let fetched = try sharedRefresh(sharedTier, key, range: range, now: now) { return fetched }
        let stored = try state.withLock { (state) throws(StoreError) in try state.segmentBytes(of: key, range: range, now: now) }
        return try Self.decode(stored)
    }

    /// Makes `destination` a copy of `source` that shares its segments (copy-on-write: segments
    /// are immutable, so appends to either never affect the other). The fork keeps the source's
    /// expiry. An existing destination is refused with `failedPrecondition`, not overwritten.
    @discardableResult
    public func fork(tenant: String = CompressedMemoryStore.defaultTenant, source: String,
                     destination: String) throws(StoreError) -> SequenceInfo {
        let sourceKey = try Self.sequenceKey(tenant, source)
        let destinationKey = try Self.sequenceKey(tenant, destination)
        let now = nowMilliseconds()
        if let sharedTier { return try sharedFork(sharedTier, source: sourceKey, destination: destinationKey, now: now) }
        return try state.withLock { (state) throws(StoreError) in
            try state.fork(source: sourceKey, destination: destinationKey, now: now)
        }
    }

    public func delete(tenant: String = CompressedMemoryStore.defaultTenant, sequence: String) throws(StoreError) {
        let key = try Self.sequenceKey(tenant, sequence)
        let now = nowMilliseconds()
        if let sharedTier { return try sharedDelete(sharedTier, key, now: now) }
        try state.withLock { (state) throws(StoreError) in try state.delete(key, now: now) }
    }

    /// Live sequences of `tenant` whose names start with `namePrefix`, sorted by name.
    public func list(tenant: String = CompressedMemoryStore.defaultTenant, namePrefix: String = "") throws(StoreError) -> [SequenceInfo] {
        try StoreName.validate(tenant, field: "tenant")
        let now = nowMilliseconds()
        if let sharedTier, let listed = try sharedList(sharedTier, tenant: tenant, namePrefix: namePrefix, now: now) { return listed }
        return try state.withLock { (state) throws(StoreError) in try state.list(tenant: tenant, namePrefix: namePrefix, now: now) }
    }

    /// Removes every expired sequence (they already behave as absent) and returns how many.
    /// The daemon calls this every `store.purge_interval_seconds` (`ExpiryPurger`), so expired
    /// sequences give back their bytes and their tenant's quota even if their names are never
    /// written again; memory mode also does it when a write needs room.
    @discardableResult
    public func purgeExpired() throws(StoreError) -> Int {
        let now = nowMilliseconds()
        return try state.withLock { (state) throws(StoreError) in try state.purgeExpired(now: now) }
    }

    /// Publishes `segments[i]` under `chunkHashes[i]` (32-byte chained sha256 computed by the
    /// client) for `model`. Hashes already stored keep their memory. Returns how many were new.
    @discardableResult
    public func publishPrefix(tenant: String = CompressedMemoryStore.defaultTenant, model: String, chunkHashes: [[UInt8]],
                              segments: [MemorySegment]) throws(StoreError) -> Int {
        let namespace = try Self.prefixNamespace(tenant, model, chunkHashes)
        let now = nowMilliseconds()
        let encoded = segments.map { SegmentCodec.encode($0, quantization: quantization) }
        if let sharedTier {
            return try sharedPublish(sharedTier, namespace, chunkHashes: chunkHashes, segments: segments, encoded: encoded, now: now)
        }
        return try state.withLock { (state) throws(StoreError) in
            try state.publishPrefix(namespace, chunkHashes: chunkHashes, segments: segments, encoded: encoded, now: now)
        }
    }

    /// The memory of the longest stored prefix `chunkHashes[0..<k]`, one segment per chunk, in
    /// order; empty when even the first chunk is unknown.
    public func lookupPrefix(tenant: String = CompressedMemoryStore.defaultTenant, model: String,
                             chunkHashes: [[UInt8]]) throws(StoreError) -> [MemorySegment] {
        let namespace = try Self.prefixNamespace(tenant, model, chunkHashes)
        let stored = try state.withLock { (state) throws(StoreError) in try state.lookupPrefix(namespace, chunkHashes: chunkHashes) }
        let local = try Self.decode(stored)
        guard let sharedTier, local.count < chunkHashes.count else { return local }
        return local + sharedLookup(sharedTier, namespace, chunkHashes: Array(chunkHashes[local.count...]))
    }

    public var statistics: StoreStatistics {
        var statistics = state.withLock { $0.statistics }
        if let status = sharedTier?.status {
            statistics.sharedTier = status.location
            statistics.sharedTierUp = status.up
        }
        return statistics
    }

    /// Bytes of stored segments `tenant`'s sequences and prefix entries hold (what its quota
    /// limits); segments shared between its forks count once.
    public func bytes(ofTenant tenant: String) -> Int {
        state.withLock { $0.tenantBytes[tenant, default: 0] }
    }

    /// A digest of all visible content, to show that a failed call changed nothing and that a
    /// restart restored everything.
    public func digest() throws(StoreError) -> [UInt8] {
        let now = nowMilliseconds()
        return try state.withLock { (state) throws(StoreError) in try state.digest(now: now) }
    }

    // MARK: - Helpers

    static func sequenceKey(_ tenant: String, _ name: String) throws(StoreError) -> SequenceKey {
        try StoreName.validate(tenant, field: "tenant")
        try StoreName.validate(name, field: "sequence")
        return SequenceKey(tenant: tenant, name: name)
    }

    static func prefixNamespace(_ tenant: String, _ model: String,
                                        _ chunkHashes: [[UInt8]]) throws(StoreError) -> PrefixNamespace {
        try StoreName.validate(tenant, field: "tenant")
        try StoreName.validate(model, field: "model")
        try ChunkHash.validate(chunkHashes)
        return PrefixNamespace(tenant: tenant, model: model)
    }

    static func decode(_ stored: [(SegmentID, [UInt8])]) throws(StoreError) -> [MemorySegment] {
        var segments: [MemorySegment] = []
        segments.reserveCapacity(stored.count)
        for (id, bytes) in stored {
            segments.append(try SegmentCodec.decode(bytes, context: "segment \(id.rawValue)"))
        }
        return segments
    }

    func nowMilliseconds() -> Int64 {
        Int64((clock().timeIntervalSince1970 * 1000).rounded(.down))
    }

    /// Expiry instant for `ttl`, rounded up to whole milliseconds so a positive TTL never
    /// expires at once.
    private static func expiry(after ttl: Duration, now: Int64) throws(StoreError) -> Int64 {
        guard ttl > .zero else { throw .invalidArgument("ttl is \(ttl); it must be positive") }
        let (seconds, attoseconds) = ttl.components
        let milliseconds = seconds.multipliedReportingOverflow(by: 1000)
        guard !milliseconds.overflow, seconds < Int64.max / 2000 else {
            throw .invalidArgument("ttl \(ttl) is too long")
        }
        return now + milliseconds.partialValue + (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
    }
}
