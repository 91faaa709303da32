import LoMAService

extension Serve {
    /// The flags given, as the keys they set.
    func settingAssignments() throws -> [SettingAssignment] {
        var result = assignments.map { text in
            let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
            return SettingAssignment(flag: "--set \(text)", key: parts.first ?? "", text: parts.count == 2 ? parts[1] : "")
        }
        if let bad = assignments.first(where: { !$0.contains("=") }) {
            throw SettingsError(source: .flag("--set"), key: bad, value: "", problem: "expected KEY=VALUE")
        }
        result += endpoints.map { SettingAssignment(flag: "--endpoint", key: "endpoints", text: $0) }
        result += models.map { SettingAssignment(flag: "--model", key: "models", text: $0) }
        if durable { result.append(SettingAssignment(flag: "--durable", key: "store.mode", text: "durable")) }
        if storeInt8 { result.append(SettingAssignment(flag: "--store-int8", key: "store.quantization", text: "int8")) }
        let options: [(String, String, String?)] = [
            ("--store-dir", "store.directory", storeDir),
            ("--ram-budget-bytes", "store.ram_budget_bytes", ramBudgetBytes),
            ("--map-size-bytes", "store.map_size_bytes", mapSizeBytes),
            ("--workers", "threads.workers", workers),
            ("--blas-threads", "threads.blas", blasThreads),
            ("--queue-depth", "limits.queue_depth", queueDepth),
            ("--max-queued-bytes", "limits.max_queued_bytes", maxQueuedBytes),
            ("--max-frame-bytes", "limits.max_frame_bytes", maxFrameBytes),
            ("--max-frames", "limits.max_frames", maxFrames),
            ("--drain-timeout", "limits.drain_timeout_seconds", drainTimeout),
            ("--max-segments", "limits.max_segments_per_request", maxSegments),
            ("--max-compute-seconds", "limits.max_compute_seconds", maxComputeSeconds),
            ("--tenant-queue-percent", "limits.tenant_queue_percent", tenantQueuePercent),
            ("--batch-window-ms", "batching.window_ms", batchWindowMs),
            ("--max-batch", "batching.max_requests", maxBatch),
            ("--server-secret-key-file", "auth.server_secret_key_file", serverSecretKeyFile),
            ("--clients-file", "auth.clients_file", clientsFile),
            ("--socket-mode", "socket.mode", socketMode),
            ("--socket-group", "socket.group", socketGroup),
            ("--metrics-listen", "metrics.listen", metricsListen),
            ("--log-level", "log.level", logLevel),
        ]
        result += options.compactMap { flag, key, value in value.map { SettingAssignment(flag: flag, key: key, text: $0) } }
        return result
    }
}
