import Foundation

/// The store with a shared tier (docs/store.md, "Shared tier"): the shared tier is the source of
/// truth for sequences and prefixes, and RAM and LMDB cache what it holds.
///
/// - Writes are write-through: acknowledged only once the shared tier has them; when it cannot
///   be reached they fail with `unavailable` and change nothing locally.
/// - Appends are version-checked (compare-and-set on the shared record's version), never
///   last-writer-wins.
/// - Reads check the shared record's version (one small round trip) and serve the local copy
///   when it is current, fetch the segments into the local tiers when it is not (read-through),
///   and serve the local copy when the shared tier is unavailable.
extension CompressedMemoryStore {
    /// How many times an append without an expected segment count re-reads after losing a
    /// version race before it gives up with `failedPrecondition`.
    static let sharedAppendAttempts = 8

    func sharedAppend(_ tier: any SharedTier, _ key: SequenceKey, model: String, segments: [MemorySegment],
                      encoded: [[UInt8]], expiresAt requestedExpiry: Int64?, expectedSegmentCount: Int?,
                      now: Int64) throws(StoreError) -> SequenceInfo {
        let digests = encoded.map { tier.digest(ofSegment: $0, model: model) }
        for _ in 0..<Self.sharedAppendAttempts {
            let current = try countingUnavailableWrites { () throws(StoreError) in try liveSnapshot(tier, key, now: now) }
            let found = current?.segments.count ?? 0
            if let expected = expectedSegmentCount, expected != found {
                throw .failedPrecondition("sequence '\(key.name)' changed concurrently: expected \(expected) segments, found \(found); read it again and retry")
            }
            if let current, current.model != model {
                throw .invalidArgument("sequence '\(key.name)' holds memory of model '\(current.model)'; this append is for model '\(model)'")
            }
            let nextPosition = try StoreState.checkSegments(segments, storedShape: current?.shape, startingAt: current?.nextPosition,
                                                            owner: "sequence '\(key.name)'")
            let expiry = requestedExpiry ?? current?.expiresAtMilliseconds
            var snapshot = current ?? SharedSequenceSnapshot(version: 0, model: model, shape: segments[0].shape, segments: [],
                                                             memoryTokens: 0, nextPosition: nextPosition,
                                                             expiresAtMilliseconds: nil)
            snapshot.version = Self.newVersion(differentFrom: current?.version)
            snapshot.segments += digests
            snapshot.memoryTokens += segments.reduce(0) { $0 + $1.tokens }
            snapshot.nextPosition = nextPosition
            snapshot.expiresAtMilliseconds = expiry
            let written = snapshot
            // Segments first: a record never names a segment the tier does not hold.
            try countingUnavailableWrites { () throws(StoreError) in
                try tier.storeSegments(model: model, Array(zip(digests, encoded)),
                                       keepAlive: requestedExpiry == nil ? [] : current?.segments ?? [],
                                       expiresAtMilliseconds: expiry)
            }
            let stored = try countingUnavailableWrites { () throws(StoreError) in
                try tier.storeSequence(tenant: key.tenant, name: key.name, snapshot: written, replacing: current?.version)
            }
            let landed = if stored { true } else { try isStored(tier, key, version: written.version) }
            if landed {
                state.withLock { state in
                    state.cacheSharedAppend(key, base: current?.version, snapshot: written, segments: segments, encoded: encoded, now: now)
                }
                return Self.info(key, written)
            }
            state.withLock { $0.counters.sharedConflicts += 1 }
            if let expected = expectedSegmentCount {
                throw .failedPrecondition("sequence '\(key.name)' changed concurrently: another daemon appended to the \(expected) segments this memory extends; read it again and retry")
            }
        }
        throw .failedPrecondition("sequence '\(key.name)' kept changing under \(Self.sharedAppendAttempts) attempts to append; retry")
    }

    /// The shared record's info; nil when the shared tier is unavailable (the local copy answers).
    func sharedInfo(_ tier: any SharedTier, _ key: SequenceKey, now: Int64) throws(StoreError) -> SequenceInfo? {
        guard let snapshot = try snapshotOrFallback(tier, key, now: now) else { return nil }
        return Self.info(key, snapshot)
    }

    /// Makes the local copy of `key` current. Returns the requested segments when they could not
    /// be cached locally (a full RAM budget), nil when the local tiers now answer (or the shared
    /// tier is unavailable and the local copy is all there is).
    func sharedRefresh(_ tier: any SharedTier, _ key: SequenceKey, range: Range<Int>?,
                       now: Int64) throws(StoreError) -> [MemorySegment]? {
        guard let snapshot = try snapshotOrFallback(tier, key, now: now) else { return nil }
        if state.withLock({ $0.hasSharedCopy(key, version: snapshot.version, now: now) }) { return nil }
        let wanted = range ?? 0..<snapshot.segments.count
        guard wanted.lowerBound >= 0, wanted.upperBound <= snapshot.segments.count else {
            throw .invalidArgument("segment range \(wanted) is outside sequence '\(key.name)', which has \(snapshot.segments.count) segments")
        }
        let encoded = try tier.loadSegments(model: snapshot.model, digests: snapshot.segments)
        let cached: Bool = state.withLock { state in
            do throws(StoreError) {
                try state.adoptShared(key, snapshot: snapshot, encoded: encoded, now: now)
                return true
            } catch {
                state.dropLocalCopy(key, now: now)
                return false
            }
        }
        if cached { return nil }
        var segments: [MemorySegment] = []
        for index in wanted {
            segments.append(try SegmentCodec.decode(encoded[index], context: "shared segment \(index) of sequence '\(key.name)'"))
        }
        return segments
    }

    func sharedFork(_ tier: any SharedTier, source: SequenceKey, destination: SequenceKey,
                    now: Int64) throws(StoreError) -> SequenceInfo {
        let snapshot = try countingUnavailableWrites { () throws(StoreError) in try liveSnapshot(tier, source, now: now) }
        guard let snapshot else {
            state.withLock { $0.dropLocalCopy(source, now: now) }
            throw StoreState.notFound(source)
        }
        var copy = snapshot
        copy.version = Self.newVersion(differentFrom: snapshot.version)
        let written = copy
        let stored = try countingUnavailableWrites { () throws(StoreError) in
            try tier.storeSequence(tenant: destination.tenant, name: destination.name, snapshot: written, replacing: nil)
        }
        let landed = if stored { true } else { try isStored(tier, destination, version: written.version) }
        guard landed else {
            throw .failedPrecondition("cannot fork '\(source.name)' to '\(destination.name)': sequence '\(destination.name)' already exists in tenant '\(destination.tenant)'")
        }
        state.withLock { state in
            state.cacheSharedFork(source: source, destination: destination, snapshot: written, sourceVersion: snapshot.version, now: now)
        }
        return Self.info(destination, written)
    }

    func sharedDelete(_ tier: any SharedTier, _ key: SequenceKey, now: Int64) throws(StoreError) {
        let existed = try countingUnavailableWrites { () throws(StoreError) in
            try tier.deleteSequence(tenant: key.tenant, name: key.name)
        }
        state.withLock { $0.dropLocalCopy(key, now: now) }
        guard existed else { throw StoreState.notFound(key) }
    }

    /// The shared tier's listing; nil when it is unavailable (the local tiers answer).
    func sharedList(_ tier: any SharedTier, tenant: String, namePrefix: String, now: Int64) throws(StoreError) -> [SequenceInfo]? {
        let listed: [(name: String, snapshot: SharedSequenceSnapshot)]
        do throws(StoreError) {
            listed = try tier.listSequences(tenant: tenant, namePrefix: namePrefix)
        } catch where error.kind == .unavailable {
            state.withLock { $0.counters.sharedLocalFallbacks += 1 }
            return nil
        }
        return listed.filter { !$0.snapshot.isExpired(now: now) }
            .map { Self.info(SequenceKey(tenant: tenant, name: $0.name), $0.snapshot) }
            .sorted { ($0.tenant, $0.name) < ($1.tenant, $1.name) }
    }

    /// Publishes to the shared tier (segments, then entries), then to the local tiers.
    func sharedPublish(_ tier: any SharedTier, _ namespace: PrefixNamespace, chunkHashes: [[UInt8]], segments: [MemorySegment],
                       encoded: [[UInt8]], now: Int64) throws(StoreError) -> Int {
        guard chunkHashes.count == segments.count else {
            throw .invalidArgument("prefix publish has \(chunkHashes.count) chunk hashes for \(segments.count) memory segments")
        }
        _ = try StoreState.checkSegments(segments, storedShape: nil, startingAt: nil,
                                         owner: "model '\(namespace.model)' of tenant '\(namespace.tenant)'")
        let digests = encoded.map { tier.digest(ofSegment: $0, model: namespace.model) }
        let added = try countingUnavailableWrites { () throws(StoreError) in
            try tier.storeSegments(model: namespace.model, Array(zip(digests, encoded)), keepAlive: [], expiresAtMilliseconds: nil)
            return try tier.storePrefixes(tenant: namespace.tenant, model: namespace.model,
                                          entries: Array(zip(chunkHashes, digests)).map { (hash: $0.0, digest: $0.1) })
        }
        // The local copy is a cache: a local refusal (another geometry cached, a full budget)
        // does not undo what the fleet now shares.
        _ = try? state.withLock { (state) throws(StoreError) in
            try state.publishPrefix(namespace, chunkHashes: chunkHashes, segments: segments, encoded: encoded, now: now)
        }
        return added
    }

    /// The memory of the longest prefix of `chunkHashes` in the shared tier, copied into the
    /// local tiers; empty when the shared tier is unavailable (the local answer stands).
    func sharedLookup(_ tier: any SharedTier, _ namespace: PrefixNamespace, chunkHashes: [[UInt8]]) -> [MemorySegment] {
        do throws(StoreError) {
            let digests = try tier.loadPrefixes(tenant: namespace.tenant, model: namespace.model, hashes: chunkHashes)
            guard !digests.isEmpty else { return [] }
            let encoded = try tier.loadSegments(model: namespace.model, digests: digests)
            let segments = try Self.decode(encoded.enumerated().map { (SegmentID(rawValue: UInt64($0.offset)), $0.element) })
            let now = nowMilliseconds()
            _ = try? state.withLock { (state) throws(StoreError) in
                state.counters.sharedReadThroughs += 1
                return try state.publishPrefix(namespace, chunkHashes: Array(chunkHashes.prefix(segments.count)), segments: segments,
                                               encoded: encoded, now: now)
            }
            return segments
        } catch {
            // Unavailable, damaged or foreign: the local answer stands; damage is never served.
            state.withLock { $0.counters.sharedLocalFallbacks += 1 }
            return []
        }
    }

    // MARK: - Helpers

    /// Whether the shared record of `key` is at `version`: a refused compare-and-set may be
    /// this very write, resent after its reply was lost.
    private func isStored(_ tier: any SharedTier, _ key: SequenceKey, version: UInt64) throws(StoreError) -> Bool {
        try countingUnavailableWrites { () throws(StoreError) in
            try tier.loadSequence(tenant: key.tenant, name: key.name)?.version == version
        }
    }

    /// The live shared record, nil when absent or expired.
    private func liveSnapshot(_ tier: any SharedTier, _ key: SequenceKey, now: Int64) throws(StoreError) -> SharedSequenceSnapshot? {
        guard let snapshot = try tier.loadSequence(tenant: key.tenant, name: key.name), !snapshot.isExpired(now: now) else { return nil }
        return snapshot
    }

    /// The live shared record for a read: nil when the tier is unavailable (the caller serves
    /// the local copy); `notFound`, dropping the local copy, when the fleet no longer has it.
    private func snapshotOrFallback(_ tier: any SharedTier, _ key: SequenceKey,
                                    now: Int64) throws(StoreError) -> SharedSequenceSnapshot? {
        let snapshot: SharedSequenceSnapshot?
        do throws(StoreError) {
            snapshot = try liveSnapshot(tier, key, now: now)
        } catch where error.kind == .unavailable {
            state.withLock { $0.counters.sharedLocalFallbacks += 1 }
            return nil
        }
        guard let snapshot else {
            state.withLock { $0.dropLocalCopy(key, now: now) }
            throw StoreState.notFound(key)
        }
        return snapshot
    }

    /// Runs a write step, counting `unavailable` failures (refused writes) in the statistics.
    private func countingUnavailableWrites<Result>(_ body: () throws(StoreError) -> Result) throws(StoreError) -> Result {
        do {
            return try body()
        } catch {
            if error.kind == .unavailable { state.withLock { $0.counters.sharedUnavailableWrites += 1 } }
            throw error
        }
    }

    private static func info(_ key: SequenceKey, _ snapshot: SharedSequenceSnapshot) -> SequenceInfo {
        SequenceInfo(tenant: key.tenant, name: key.name, model: snapshot.model, shape: snapshot.shape,
                     segmentCount: snapshot.segments.count, memoryTokens: snapshot.memoryTokens,
                     nextPosition: snapshot.nextPosition,
                     expiresAt: snapshot.expiresAtMilliseconds.map { Date(timeIntervalSince1970: Double($0) / 1000) })
    }

    /// A fresh random version: versions are compared for equality only, and a random one never
    /// repeats a version a daemon cached before the sequence was deleted and recreated.
    private static func newVersion(differentFrom previous: UInt64?) -> UInt64 {
        var version = UInt64.random(in: 1...UInt64.max)
        while version == previous { version = UInt64.random(in: 1...UInt64.max) }
        return version
    }
}
