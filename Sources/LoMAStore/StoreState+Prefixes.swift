/// Prefix sharing: memory published under client-computed chained chunk hashes.
extension StoreState {
    /// Stores the chunks not yet present (the first publisher of a hash wins: the same chained
    /// hash means the same tokens, so its memory is interchangeable). Returns how many were new.
    mutating func publishPrefix(_ namespace: PrefixNamespace, chunkHashes: [[UInt8]], segments: [MemorySegment],
                                encoded: [[UInt8]], now: Int64) throws(StoreError) -> Int {
        try requireOpen()
        guard chunkHashes.count == segments.count else {
            throw .invalidArgument("prefix publish has \(chunkHashes.count) chunk hashes for \(segments.count) memory segments")
        }
        _ = try Self.checkSegments(segments, storedShape: prefixShapes[namespace], startingAt: nil,
                                   owner: "model '\(namespace.model)' of tenant '\(namespace.tenant)'")
        var change = StoreChange()
        var unusedIDs = segmentIDs(count: chunkHashes.count)[...]
        for (index, hash) in chunkHashes.enumerated() {
            let key = PrefixKey(namespace: namespace, chunkHash: hash)
            guard prefixes[key] == nil, change.prefixPuts[key] == nil, let segment = unusedIDs.popFirst() else { continue }
            change.newSegments.append((segment, encoded[index]))
            change.prefixPuts[key] = PrefixEntry(segment: segment, shape: segments[index].shape)
        }
        guard !change.prefixPuts.isEmpty else { return 0 }
        try apply(change, tenant: namespace.tenant, now: now)
        return change.prefixPuts.count
    }

    /// The encoded segments of the longest stored prefix `chunkHashes[0..<k]`, in order.
    mutating func lookupPrefix(_ namespace: PrefixNamespace, chunkHashes: [[UInt8]]) throws(StoreError) -> [(SegmentID, [UInt8])] {
        try requireOpen()
        var found: [(SegmentID, [UInt8])] = []
        for hash in chunkHashes {
            guard let entry = prefixes[PrefixKey(namespace: namespace, chunkHash: hash)] else { break }
            found.append((entry.segment, try segmentBytes(entry.segment)))
        }
        countPrefixLookup(chunksFound: found.count)
        return found
    }
}
