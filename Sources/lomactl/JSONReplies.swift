import Foundation
import LoMAProtocol

// The replies as plain JSON objects for `--json`: field names as in the .proto, integers as
// JSON numbers, statuses by name (`invalid_argument`), nothing left out for being zero.

extension Loma_V1_HealthReply {
    var jsonObject: [String: Any] {
        [
            "version": version,
            "protocol_version": Int(protocolVersion),
            "uptime_seconds": uptimeSeconds,
            "tenant": tenant,
            "limits": [
                "max_frame_bytes": Int(clamping: limits.maxFrameBytes),
                "hard_max_message_bytes": Int(clamping: limits.hardMaxMessageBytes),
                "max_frames": Int(limits.maxFrames),
                "queue_depth": Int(limits.queueDepth),
                "workers": Int(limits.workers),
                "max_queued_bytes": Int(clamping: limits.maxQueuedBytes),
                "max_connections": Int(limits.maxConnections),
                "max_connections_per_peer": Int(limits.maxConnectionsPerPeer),
                "max_reply_bytes": Int(clamping: limits.maxReplyBytes),
                "max_segments_per_request": Int(limits.maxSegmentsPerRequest),
                "max_compute_seconds": limits.maxComputeSeconds,
                "tenant_queue_percent": Int(limits.tenantQueuePercent),
                "shared_memory_max_bytes": Int(clamping: limits.sharedMemoryMaxBytes),
            ] as [String: Any],
            "models": models.map(\.jsonObject),
        ]
    }
}

extension Loma_V1_ModelInfo {
    var jsonObject: [String: Any] {
        [
            "name": name,
            "architecture": architecture,
            "layers": Int(layers),
            "kv_heads": Int(kvHeads),
            "head_dim": Int(headDim),
            "segment_length": Int(segmentLength),
            "compression_ratio": Int(compressionRatio),
            "memory_tokens_per_segment": Int(memoryTokensPerSegment),
            "hidden_size": Int(hiddenSize),
            "attention_heads": Int(attentionHeads),
            "load_seconds": loadSeconds,
        ]
    }
}

extension Loma_V1_StatsReply {
    var jsonObject: [String: Any] {
        var object: [String: Any] = [
            "uptime_seconds": uptimeSeconds,
            "queue_depth": Int(queueDepth),
            "busy_workers": Int(busyWorkers),
            "workers": Int(workers),
            "undeliverable_replies": Int(clamping: undeliverableReplies),
            "held_request_bytes": Int(clamping: heldRequestBytes),
            "operations": operations.map(\.jsonObject),
            "batch_sizes": batchSizes.map { ["batch_size": Int($0.batchSize), "count": Int(clamping: $0.count)] },
            "tenant": [
                "name": tenant.name, "bytes": Int(clamping: tenant.bytes), "quota_bytes": Int(clamping: tenant.quotaBytes),
            ] as [String: Any],
        ]
        object["store"] = hasStore ? store.jsonObject : NSNull()
        return object
    }
}

extension Loma_V1_OperationStats {
    var jsonObject: [String: Any] {
        // Several entries for one code cannot happen, but adding them keeps every request counted.
        let statuses = Dictionary(self.statuses.map { ($0.code.name, Int(clamping: $0.count)) }, uniquingKeysWith: +)
        return [
            "operation": operation,
            "statuses": statuses,
            "latency_upper_seconds": latencyUpperSeconds,
            "latency_counts": latencyCounts.map { Int(clamping: $0) },
            "latency_sum_seconds": latencySumSeconds,
        ]
    }
}

extension Loma_V1_StoreStats {
    var jsonObject: [String: Any] {
        [
            "mode": mode,
            "sequences": Int(clamping: sequences),
            "prefix_entries": Int(clamping: prefixEntries),
            "ram_bytes": Int(clamping: ramBytes),
            "ram_segments": Int(clamping: ramSegments),
            "ram_budget_bytes": Int(clamping: ramBudgetBytes),
            "ram_evictions": Int(clamping: ramEvictions),
            "ram_hits": Int(clamping: ramHits),
            "ram_misses": Int(clamping: ramMisses),
            "durable_segments": Int(clamping: durableSegments),
            "durable_segment_bytes": Int(clamping: durableSegmentBytes),
            "durable_file_bytes": Int(clamping: durableFileBytes),
            "map_size_bytes": Int(clamping: mapSizeBytes),
            "expired_purged": Int(clamping: expiredPurged),
            "prefix_lookups": Int(clamping: prefixLookups),
            "prefix_chunks_found": Int(clamping: prefixChunksFound),
            "damaged_reads": Int(clamping: damagedReads),
            "unverified_reads": Int(clamping: unverifiedReads),
            "damaged_records": Int(clamping: damagedRecords),
            "unchecked_records": Int(clamping: uncheckedRecords),
            "shared_tier": sharedTier,
            "shared_tier_up": sharedTierUp,
            "shared_read_throughs": Int(clamping: sharedReadThroughs),
            "shared_local_fallbacks": Int(clamping: sharedLocalFallbacks),
            "shared_conflicts": Int(clamping: sharedConflicts),
            "shared_unavailable_writes": Int(clamping: sharedUnavailableWrites),
        ]
    }
}

extension Loma_V1_SequenceInfo {
    var jsonObject: [String: Any] {
        [
            "name": name,
            "model": model,
            "segments": Int(segments),
            "memory_tokens": Int(memoryTokens),
            "next_position": Int(clamping: nextPosition),
            "bytes": Int(clamping: bytes),
        ]
    }
}
