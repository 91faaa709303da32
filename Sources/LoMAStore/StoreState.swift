import Foundation

/// The store's data and tiers, guarded by `CompressedMemoryStore`'s mutex.
///
/// Sequence records and prefix entries are small and always resident; segment bytes are what
/// the RAM tier holds under its budget. In memory mode the RAM tier is the only home of a segment,
/// so the budget is a hard cap checked before a write. In durable mode LMDB holds every segment
/// and the RAM tier is an LRU cache in front of it.
struct StoreState {
    let configuration: StoreConfiguration
    private(set) var sequences: [SequenceKey: SequenceRecord] = [:]
    private(set) var prefixes: [PrefixKey: PrefixEntry] = [:]
    private(set) var prefixShapes: [PrefixNamespace: MemoryShape] = [:]
    /// Sequences whose durable record failed its checksum at open, with what was wrong. They are
    /// not in `sequences`; every use of the name but `delete` answers `dataLoss`.
    private(set) var damagedSequences: [SequenceKey: String] = [:]
    /// How many sequences and prefix entries refer to each live segment; a segment is freed (in
    /// RAM and LMDB, in the same transaction) when this reaches zero.
    private var references: [SegmentID: Int] = [:]
    /// Encoded size of every live segment, wherever it is.
    private var segmentSizes: [SegmentID: Int] = [:]
    private var liveSegmentBytes = 0
    /// Which tenant's write created each live segment. Segments are shared only within a tenant
    /// (forks, prefix entries), so this is also whom a segment's bytes count against.
    private var segmentOwners: [SegmentID: String] = [:]
    /// Bytes of live segments per tenant: what quotas limit.
    private(set) var tenantBytes: [String: Int] = [:]
    private var nextSegmentID: UInt64 = 1
    private var ram: LRUCache<SegmentID>
    private var durable: DurableTier?
    private var durablePath: String?
    var counters = StoreStatistics()
    /// Shared tier: the version of the shared record each local sequence is a copy of. A local
    /// sequence not listed here is not known to match the shared tier and is fetched again.
    var sharedVersions: [SequenceKey: UInt64] = [:]
    private(set) var isClosed = false

    init(configuration: StoreConfiguration) throws(StoreError) {
        guard configuration.ramBudgetBytes > 0 else {
            throw .invalidArgument("ramBudgetBytes is \(configuration.ramBudgetBytes); it must be positive")
        }
        guard configuration.mapSizeBytes > 0 else {
            throw .invalidArgument("mapSizeBytes is \(configuration.mapSizeBytes); it must be positive")
        }
        self.configuration = configuration
        switch configuration.mode {
        case .memory:
            // Nothing may be evicted in memory mode; `apply` enforces the budget before a write.
            ram = LRUCache(capacityBytes: .max)
        case .durable(let directory):
            ram = LRUCache(capacityBytes: configuration.ramBudgetBytes)
            let path = directory.standardizedFileURL.resolvingSymlinksInPath().path
            try OpenDirectories.claim(path)
            do {
                let tier = try DurableTier(directory: directory, mapSizeBytes: configuration.mapSizeBytes)
                try recover(from: tier)
                durable = tier
                durablePath = path
            } catch {
                OpenDirectories.release(path)
                throw error
            }
        }
    }

    /// Rebuilds the RAM catalogue and reference counts from LMDB. Damage found here (a record
    /// failing its checksum, a segment that a sequence refers to but LMDB no longer holds) is kept
    /// out of the catalogue and answered with `dataLoss` when read, so the rest of the store still
    /// opens and serves.
    private mutating func recover(from tier: DurableTier) throws(StoreError) {
        let contents = try tier.load()
        var references: [SegmentID: Int] = [:]
        var owners: [SegmentID: String] = [:]
        var missing = Set<SegmentID>()
        for (key, record) in contents.sequences {
            for id in record.segments {
                owners[id] = key.tenant
                if contents.segmentSizes[id] == nil { missing.insert(id) }
                references[id, default: 0] += 1
            }
        }
        for (key, entry) in contents.prefixes {
            if contents.segmentSizes[entry.segment] == nil { missing.insert(entry.segment) }
            references[entry.segment, default: 0] += 1
            owners[entry.segment] = key.namespace.tenant
            prefixShapes[key.namespace] = entry.shape
        }
        // Unreferenced segments cannot come from a committed change; free any found anyway,
        // unless something is damaged: then an "orphan" may be data whose record is unreadable,
        // and deleting it would turn damage into loss.
        let damaged = !contents.damagedSequences.isEmpty || !contents.damagedRecords.isEmpty || !missing.isEmpty
        let orphans = contents.segmentSizes.keys.filter { references[$0] == nil }.sorted()
        if !orphans.isEmpty, !damaged { try tier.commit(StoreChange(), freeing: orphans) }
        sequences = contents.sequences
        prefixes = contents.prefixes
        damagedSequences = contents.damagedSequences
        self.references = references
        segmentSizes = contents.segmentSizes.filter { references[$0.key] != nil }
        liveSegmentBytes = segmentSizes.values.reduce(0, +)
        segmentOwners = owners
        for (id, size) in segmentSizes {
            if let owner = owners[id] { tenantBytes[owner, default: 0] += size }
        }
        counters.damagedRecords = contents.damagedSequences.count + contents.damagedRecords.count + missing.count
        counters.uncheckedRecords = contents.uncheckedRecords
        // Past every id in use, including those of missing segments: reusing one would hand a
        // new segment's bytes to the sequence that lost the old one.
        let highest = max(contents.segmentSizes.keys.max()?.rawValue ?? 0, references.keys.max()?.rawValue ?? 0)
        nextSegmentID = highest + 1
    }

    mutating func close() {
        durable?.environment.close()
        durable = nil
        if let durablePath { OpenDirectories.release(durablePath) }
        durablePath = nil
        isClosed = true
    }

    func requireOpen() throws(StoreError) {
        if isClosed { throw .failedPrecondition("the store is closed") }
    }

    // MARK: - Changes

    /// Hands out ids for the segments of a change; they become taken only if the change commits.
    func segmentIDs(count: Int) -> [SegmentID] {
        (0..<UInt64(count)).map { SegmentID(rawValue: nextSegmentID + $0) }
    }

    /// Validates `proposed` against the budget and quota, commits it durably, then applies it to
    /// RAM. Nothing is modified unless everything succeeds.
    mutating func apply(_ proposed: StoreChange, tenant: String?, now: Int64) throws(StoreError) {
        var change = proposed
        var resolved = resolveReferences(change)
        if case .memory = configuration.mode, projectedBytes(change, freed: resolved.freed) > configuration.ramBudgetBytes {
            // Expired sequences are already invisible; dropping them first is the only eviction
            // memory mode allows.
            let expired = sequences.filter { $0.value.isExpired(now: now) && change.sequencePuts[$0.key] == nil }.keys
            change.expiredPurges += expired.filter { !change.sequenceDeletes.contains($0) }.count
            change.sequenceDeletes.formUnion(expired)
            resolved = resolveReferences(change)
            let projected = projectedBytes(change, freed: resolved.freed)
            guard projected <= configuration.ramBudgetBytes else {
                throw .resourceExhausted("RAM budget of \(configuration.ramBudgetBytes) bytes cannot hold this write: \(change.addedBytes) new bytes on top of \(liveSegmentBytes) in use would need \(projected); delete sequences or raise ramBudgetBytes")
            }
        }
        if let tenant, change.addedBytes > 0, let quota = configuration.tenantQuota?(tenant) {
            let held = tenantBytes[tenant, default: 0]
            let freedOwn = resolved.freed.filter { segmentOwners[$0] == tenant }.reduce(0) { $0 + (segmentSizes[$1] ?? 0) }
            let projected = held - freedOwn + change.addedBytes
            guard projected <= quota else {
                throw .resourceExhausted("tenant '\(tenant)' quota of \(quota) bytes cannot hold this write: it holds \(held) bytes and the write adds \(change.addedBytes); delete sequences or raise the quota")
            }
        }
        try durable?.commit(change, freeing: resolved.freed)

        for key in change.sequenceDeletes { sequences[key] = nil }
        for (key, record) in change.sequencePuts { sequences[key] = record }
        for (key, entry) in change.prefixPuts {
            prefixes[key] = entry
            prefixShapes[key.namespace] = entry.shape
        }
        references = resolved.references
        for (id, bytes) in change.newSegments {
            segmentSizes[id] = bytes.count
            liveSegmentBytes += bytes.count
            if let tenant {
                segmentOwners[id] = tenant
                tenantBytes[tenant, default: 0] += bytes.count
            }
            counters.ramEvictions += ram.insert(bytes, for: id)
            nextSegmentID = max(nextSegmentID, id.rawValue + 1)
        }
        for id in resolved.freed {
            let size = segmentSizes.removeValue(forKey: id) ?? 0
            liveSegmentBytes -= size
            if let owner = segmentOwners.removeValue(forKey: id) {
                tenantBytes[owner, default: 0] -= size
                if tenantBytes[owner] == 0 { tenantBytes[owner] = nil }
            }
            ram.remove(id)
        }
        counters.expiredPurged += change.expiredPurges
    }

    private func projectedBytes(_ change: StoreChange, freed: [SegmentID]) -> Int {
        let freedBytes = freed.reduce(0) { $0 + (segmentSizes[$1] ?? 0) }
        return liveSegmentBytes - freedBytes + change.addedBytes
    }

    /// Reference counts after `change`, and the segments nothing refers to any more.
    private func resolveReferences(_ change: StoreChange) -> (references: [SegmentID: Int], freed: [SegmentID]) {
        var counts = references
        var touched = Set<SegmentID>()
        for (id, _) in change.newSegments {
            counts[id] = 0
            touched.insert(id)
        }
        for key in change.sequenceDeletes.union(change.sequencePuts.keys) {
            for id in sequences[key]?.segments ?? [] {
                counts[id, default: 0] -= 1
                touched.insert(id)
            }
        }
        for record in change.sequencePuts.values {
            for id in record.segments { counts[id, default: 0] += 1 }
        }
        for (key, entry) in change.prefixPuts where prefixes[key] == nil {
            counts[entry.segment, default: 0] += 1
        }
        let freed = touched.filter { counts[$0, default: 0] <= 0 }.sorted()
        for id in freed { counts[id] = nil }
        return (counts, freed)
    }

    // MARK: - Segments

    /// The encoded bytes of a segment, from RAM or (a miss) from LMDB, which then caches them.
    mutating func segmentBytes(_ id: SegmentID) throws(StoreError) -> [UInt8] {
        if let bytes = ram.value(for: id) {
            counters.ramHits += 1
            return bytes
        }
        guard let durable else {
            throw .internalError("segment \(id.rawValue) is missing from the RAM tier")
        }
        counters.ramMisses += 1
        let read: (bytes: [UInt8], verification: DurableTier.Verification)
        do throws(StoreError) {
            read = try durable.segmentBytes(id)
        } catch {
            if error.kind == .dataLoss { counters.damagedReads += 1 }
            throw error
        }
        if read.verification == .unverified { counters.unverifiedReads += 1 }
        counters.ramEvictions += ram.insert(read.bytes, for: id)
        return read.bytes
    }

    /// Like `segmentBytes` but without counting a use or changing the LRU order.
    func peekSegmentBytes(_ id: SegmentID) throws(StoreError) -> [UInt8] {
        if let bytes = ram.peek(id) { return bytes }
        guard let durable else { throw .internalError("segment \(id.rawValue) is missing from the RAM tier") }
        return try durable.segmentBytes(id).bytes
    }

    /// Refuses any use of a sequence whose record was found damaged, so it answers `dataLoss`
    /// instead of `notFound` (which would read as "never stored").
    mutating func requireUndamaged(_ key: SequenceKey) throws(StoreError) {
        guard let reason = damagedSequences[key] else { return }
        counters.damagedReads += 1
        throw .dataLoss("sequence '\(key.name)' of tenant '\(key.tenant)' is damaged and cannot be served: \(reason); delete it to reuse the name")
    }

    /// Forgets a damaged sequence once its record has been deleted.
    mutating func forgetDamage(_ key: SequenceKey) {
        damagedSequences[key] = nil
    }

    mutating func countPrefixLookup(chunksFound: Int) {
        counters.prefixLookups += 1
        counters.prefixChunksFound += chunksFound
    }

    // MARK: - Views

    /// The record if it exists and has not expired: expired sequences behave as absent.
    func liveRecord(_ key: SequenceKey, now: Int64) -> SequenceRecord? {
        guard let record = sequences[key], !record.isExpired(now: now) else { return nil }
        return record
    }

    var statistics: StoreStatistics {
        var statistics = counters
        statistics.sequences = sequences.count
        statistics.prefixEntries = prefixes.count
        statistics.ramBytes = ram.bytes
        statistics.ramSegments = ram.count
        statistics.ramBudgetBytes = configuration.ramBudgetBytes
        if let durable {
            statistics.durableSegments = segmentSizes.count
            statistics.durableSegmentBytes = liveSegmentBytes
            statistics.durableFileBytes = durable.environment.usedBytes()
            statistics.mapSizeBytes = configuration.mapSizeBytes
        }
        return statistics
    }
}
