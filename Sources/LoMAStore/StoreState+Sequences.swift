import Foundation

/// Sequence operations. Each builds a `StoreChange` after checking everything, then `apply`s it.
extension StoreState {
    mutating func append(_ key: SequenceKey, model: String, segments: [MemorySegment], encoded: [[UInt8]],
                         expiresAt requestedExpiry: Int64?, expectedSegmentCount: Int?,
                         now: Int64) throws(StoreError) -> SequenceInfo {
        try requireOpen()
        try requireUndamaged(key)
        let existing = liveRecord(key, now: now)
        let found = existing?.segments.count ?? 0
        if let expected = expectedSegmentCount, expected != found {
            throw .failedPrecondition("sequence '\(key.name)' changed concurrently: expected \(expected) segments, found \(found); read it again and retry")
        }
        if let existing, existing.model != model {
            throw .invalidArgument("sequence '\(key.name)' holds memory of model '\(existing.model)'; this append is for model '\(model)'")
        }
        let nextPosition = try Self.checkSegments(segments, storedShape: existing?.shape,
                                                  startingAt: existing?.nextPosition, owner: "sequence '\(key.name)'")
        let ids = segmentIDs(count: segments.count)
        var change = StoreChange()
        change.newSegments = Array(zip(ids, encoded))
        var record = existing ?? SequenceRecord(model: model, shape: segments[0].shape, segments: [], memoryTokens: 0,
                                                nextPosition: nextPosition, expiresAtMilliseconds: nil)
        record.segments += ids
        record.memoryTokens += segments.reduce(0) { $0 + $1.tokens }
        record.nextPosition = nextPosition
        record.expiresAtMilliseconds = requestedExpiry ?? existing?.expiresAtMilliseconds
        change.sequencePuts[key] = record
        if existing == nil, sequences[key] != nil { change.expiredPurges = 1 }
        try apply(change, tenant: key.tenant, now: now)
        return Self.info(key, record)
    }

    mutating func fork(source: SequenceKey, destination: SequenceKey, now: Int64) throws(StoreError) -> SequenceInfo {
        try requireOpen()
        try requireUndamaged(source)
        try requireUndamaged(destination)
        guard let record = liveRecord(source, now: now) else { throw Self.notFound(source) }
        guard liveRecord(destination, now: now) == nil else {
            throw .failedPrecondition("cannot fork '\(source.name)' to '\(destination.name)': sequence '\(destination.name)' already exists in tenant '\(destination.tenant)'")
        }
        var change = StoreChange()
        change.sequencePuts[destination] = record
        if sequences[destination] != nil { change.expiredPurges = 1 }
        try apply(change, tenant: destination.tenant, now: now)
        return Self.info(destination, record)
    }

    /// Deletes a sequence; a damaged one too, which is how an operator clears its name. The
    /// segments a damaged record referred to cannot be known; they stay until a later open finds
    /// no damage and frees them as unreferenced.
    mutating func delete(_ key: SequenceKey, now: Int64) throws(StoreError) {
        try requireOpen()
        guard liveRecord(key, now: now) != nil || damagedSequences[key] != nil else { throw Self.notFound(key) }
        var change = StoreChange()
        change.sequenceDeletes = [key]
        try apply(change, tenant: key.tenant, now: now)
        forgetDamage(key)
    }

    mutating func purgeExpired(now: Int64) throws(StoreError) -> Int {
        try requireOpen()
        var change = StoreChange()
        change.sequenceDeletes = Set(sequences.filter { $0.value.isExpired(now: now) }.keys)
        guard !change.sequenceDeletes.isEmpty else { return 0 }
        change.expiredPurges = change.sequenceDeletes.count
        try apply(change, tenant: nil, now: now)
        return change.expiredPurges
    }

    mutating func info(_ key: SequenceKey, now: Int64) throws(StoreError) -> SequenceInfo {
        try requireOpen()
        try requireUndamaged(key)
        guard let record = liveRecord(key, now: now) else { throw Self.notFound(key) }
        return Self.info(key, record)
    }

    func list(tenant: String, namePrefix: String, now: Int64) throws(StoreError) -> [SequenceInfo] {
        try requireOpen()
        return sequences
            .filter { $0.key.tenant == tenant && $0.key.name.hasPrefix(namePrefix) && !$0.value.isExpired(now: now) }
            .sorted { $0.key < $1.key }
            .map { Self.info($0.key, $0.value) }
    }

    /// The encoded segments `range` (all when nil) of a sequence, in order, with their ids.
    mutating func segmentBytes(of key: SequenceKey, range: Range<Int>?, now: Int64) throws(StoreError) -> [(SegmentID, [UInt8])] {
        try requireOpen()
        try requireUndamaged(key)
        guard let record = liveRecord(key, now: now) else { throw Self.notFound(key) }
        let wanted = range ?? 0..<record.segments.count
        guard wanted.lowerBound >= 0, wanted.upperBound <= record.segments.count else {
            throw .invalidArgument("segment range \(wanted) is outside sequence '\(key.name)', which has \(record.segments.count) segments")
        }
        var result: [(SegmentID, [UInt8])] = []
        for id in record.segments[wanted] { result.append((id, try segmentBytes(id))) }
        return result
    }

    /// Checks that `segments` share one geometry (the stored one, if any) and that their source
    /// ranges never go backwards, from `startingAt`. Returns the position after the last one.
    /// Serves both sequence appends and prefix publishes.
    static func checkSegments(_ segments: [MemorySegment], storedShape: MemoryShape?, startingAt start: Int64?,
                              owner: String) throws(StoreError) -> Int64 {
        guard let first = segments.first else { throw .invalidArgument("no memory segments given for \(owner)") }
        let shape = storedShape ?? first.shape
        var next = start ?? first.sourceStart
        for (index, segment) in segments.enumerated() {
            guard segment.shape == shape else {
                let reference = storedShape == nil ? "segment 0 has" : "\(owner) stores"
                throw .invalidArgument("memory segment \(index) has \(segment.shape); \(reference) \(shape)")
            }
            guard segment.sourceStart >= next else {
                throw .failedPrecondition("position goes backwards: memory segment \(index) starts at \(segment.sourceStart), but \(owner) already covers positions up to \(next)")
            }
            next = segment.sourceEnd
        }
        return next
    }

    static func notFound(_ key: SequenceKey) -> StoreError {
        .notFound("sequence '\(key.name)' not found in tenant '\(key.tenant)'")
    }

    static func info(_ key: SequenceKey, _ record: SequenceRecord) -> SequenceInfo {
        SequenceInfo(tenant: key.tenant, name: key.name, model: record.model, shape: record.shape,
                     segmentCount: record.segments.count, memoryTokens: record.memoryTokens,
                     nextPosition: record.nextPosition,
                     expiresAt: record.expiresAtMilliseconds.map { Date(timeIntervalSince1970: Double($0) / 1000) })
    }
}
