/// The local tiers as a cache of the shared tier: copies of shared sequences, tagged with the
/// shared version they copy (`sharedVersions`).
extension StoreState {
    /// Replaces the local copy of `key` with `snapshot`, whose segments' encoded bytes are
    /// `encoded` (fetched from the shared tier): a read-through.
    mutating func adoptShared(_ key: SequenceKey, snapshot: SharedSequenceSnapshot, encoded: [[UInt8]],
                              now: Int64) throws(StoreError) {
        try requireOpen()
        let ids = segmentIDs(count: encoded.count)
        var change = StoreChange()
        change.newSegments = Array(zip(ids, encoded))
        change.sequencePuts[key] = SequenceRecord(model: snapshot.model, shape: snapshot.shape, segments: ids,
                                                  memoryTokens: snapshot.memoryTokens, nextPosition: snapshot.nextPosition,
                                                  expiresAtMilliseconds: snapshot.expiresAtMilliseconds)
        try apply(change, tenant: key.tenant, now: now)
        forgetDamage(key)
        sharedVersions[key] = snapshot.version
        counters.sharedReadThroughs += 1
    }

    /// After the shared tier took an append that turned version `base` (nil: no sequence) into
    /// `snapshot`: extends the local copy when it is a copy of `base`, and otherwise drops it, so
    /// the next read fetches the sequence again. The shared tier has acknowledged the write, so
    /// a local failure here (a full RAM budget) only costs the cached copy.
    mutating func cacheSharedAppend(_ key: SequenceKey, base: UInt64?, snapshot: SharedSequenceSnapshot,
                                    segments: [MemorySegment], encoded: [[UInt8]], now: Int64) {
        let localIsBase = base.map { sharedVersions[key] == $0 } ?? (liveRecord(key, now: now) == nil)
        if localIsBase {
            do {
                _ = try append(key, model: snapshot.model, segments: segments, encoded: encoded,
                               expiresAt: snapshot.expiresAtMilliseconds, expectedSegmentCount: nil, now: now)
                sharedVersions[key] = snapshot.version
                return
            } catch {}
        }
        dropLocalCopy(key, now: now)
    }

    /// After a fork in the shared tier: forks locally too when the local source is a copy of the
    /// version that was forked.
    mutating func cacheSharedFork(source: SequenceKey, destination: SequenceKey, snapshot: SharedSequenceSnapshot,
                                  sourceVersion: UInt64, now: Int64) {
        dropLocalCopy(destination, now: now)
        guard sharedVersions[source] == sourceVersion else { return }
        if (try? fork(source: source, destination: destination, now: now)) != nil {
            sharedVersions[destination] = snapshot.version
        }
    }

    /// Forgets the local copy of `key` (the shared tier no longer has it, or it is stale).
    mutating func dropLocalCopy(_ key: SequenceKey, now: Int64) {
        sharedVersions[key] = nil
        guard sequences[key] != nil || damagedSequences[key] != nil else { return }
        var change = StoreChange()
        change.sequenceDeletes = [key]
        if (try? apply(change, tenant: key.tenant, now: now)) != nil { forgetDamage(key) }
    }

    /// Whether the local copy of `key` is a copy of shared `version`.
    func hasSharedCopy(_ key: SequenceKey, version: UInt64, now: Int64) -> Bool {
        sharedVersions[key] == version && liveRecord(key, now: now) != nil
    }
}
