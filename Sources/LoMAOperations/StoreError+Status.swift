import LoMAProtocol
import LoMAStore

extension StoreError {
    /// The store's error kinds mirror the protocol's status codes one to one.
    var statusError: StatusError {
        switch kind {
        case .notFound: .notFound(message)
        case .invalidArgument: .invalidArgument(message)
        case .failedPrecondition: .failedPrecondition(message)
        case .resourceExhausted: .resourceExhausted(message)
        case .internal: .internalError(message)
        case .dataLoss: .dataLoss(message)
        }
    }
}

/// Runs a store call, turning its error into the status the client sees.
@discardableResult
func storeCall<Result>(_ body: () throws(StoreError) -> Result) throws(StatusError) -> Result {
    do {
        return try body()
    } catch {
        throw error.statusError
    }
}

extension SequenceInfo {
    var wire: Loma_V1_SequenceInfo {
        var info = Loma_V1_SequenceInfo()
        info.name = name
        info.model = model
        info.segments = UInt32(clamping: segmentCount)
        info.memoryTokens = UInt32(clamping: memoryTokens)
        info.nextPosition = UInt64(max(0, nextPosition))
        // Keys and values, f32, as held before any storage quantization.
        info.bytes = UInt64(memoryTokens * shape.layers * shape.kvHeads * shape.headDim * 4 * 2)
        return info
    }
}

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
        return stats
    }
}
