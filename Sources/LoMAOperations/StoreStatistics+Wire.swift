import LoMAProtocol
import LoMAStore

extension StoreStatistics {
    public func wire(mode: String) -> Loma_V1_StoreStats {
        var stats = Loma_V1_StoreStats()
        stats.mode = mode
        stats.sequences = UInt64(sequences)
        stats.prefixEntries = UInt64(prefixEntries)
        stats.ramBytes = UInt64(ramBytes)
        stats.ramSegments = UInt64(ramSegments)
        stats.ramBudgetBytes = UInt64(ramBudgetBytes)
        stats.ramEvictions = UInt64(ramEvictions)
        stats.ramHits = UInt64(ramHits)
        stats.ramMisses = UInt64(ramMisses)
        stats.durableSegments = UInt64(durableSegments)
        stats.durableSegmentBytes = UInt64(durableSegmentBytes)
        stats.durableFileBytes = UInt64(durableFileBytes)
        stats.mapSizeBytes = UInt64(mapSizeBytes)
        stats.expiredPurged = UInt64(expiredPurged)
        stats.prefixLookups = UInt64(prefixLookups)
        stats.prefixChunksFound = UInt64(prefixChunksFound)
        stats.damagedReads = UInt64(damagedReads)
        stats.unverifiedReads = UInt64(unverifiedReads)
        stats.damagedRecords = UInt64(damagedRecords)
        stats.uncheckedRecords = UInt64(uncheckedRecords)
        stats.sharedTier = sharedTier
        stats.sharedTierUp = sharedTierUp
        stats.sharedReadThroughs = UInt64(sharedReadThroughs)
        stats.sharedLocalFallbacks = UInt64(sharedLocalFallbacks)
        stats.sharedConflicts = UInt64(sharedConflicts)
        stats.sharedUnavailableWrites = UInt64(sharedUnavailableWrites)
        return stats
    }
}
