import Foundation
import Logging
import LoMAModel
import LoMAOperations
import LoMAProtocol
import Redis

extension ServiceSettings {
    /// Every setting of `lomad serve`, each declared once, in the order `--print-config` writes
    /// them. A declaration gives the TOML key, the flag (`flag:`; else the key with `.` and `_` as
    /// `-`), the `LOMAD_*` variable, the check, whether SIGHUP applies it, and the summary that
    /// `--print-config` and `lomad serve --help` print.
    public static let keys: [SettingKey] = [
        .strings("endpoints", \.endpoints, flag: .option("endpoint"), "Where clients connect: ipc://PATH or tcp://HOST:PORT (port * picks a free one). Empty: $RUNTIME_DIRECTORY/lomad.sock under systemd, else $XDG_RUNTIME_DIR/lomad.sock.",
                 check: { text throws(SettingProblem) in
                     do { _ = try Endpoint(text) } catch { throw SettingProblem("\(error)") }
                 }),
        .strings("models", \.models, flag: .option("model"), "Models to serve, NAME=DIR or DIR (named after the folder). Empty: the shipped loma-tiny.",
                 check: { text throws(SettingProblem) in
                     do { _ = try ModelRegistry.Specification(parsing: text) } catch { throw SettingProblem("\(error)") }
                 }),
        .choice("store.mode", \.storeMode, flag: .switch("durable", sets: "durable"), "\"memory\" (RAM only) or \"durable\" (LMDB on disk: a write is acknowledged once committed, and a restart restores it)."),
        .string("store.directory", \.storeDirectory, flag: .option("store-dir"), "Durable store directory. Empty: $STATE_DIRECTORY (systemd), else $XDG_STATE_HOME/lomad, else ~/.local/state/lomad.",
                parse: { $0 }, format: { $0 }),
        .integer("store.ram_budget_bytes", \.storeRAMBudgetBytes, flag: .option("ram-budget-bytes"), minimum: 1, "Bytes of memory KV the store keeps in RAM (memory mode: all it may hold; durable: its cache)."),
        .integer("store.map_size_bytes", \.storeMapSizeBytes, flag: .option("map-size-bytes"), minimum: 1, "Most bytes the durable store may hold on disk (the LMDB map size)."),
        .choice("store.quantization", \.storeQuantization, flag: .switch("store-int8", sets: "int8"), "\"none\", or \"int8\": memory KV stored as int8 with a scale per channel (a quarter of the bytes, ~0.5% relative error)."),
        .integer("store.tenant_quota_bytes", \.tenantQuotaBytes, minimum: 0, reloadable: true, "Bytes of memory KV each tenant may store, unless the clients file gives it its own quota_bytes (0: no limit)."),
        .number("store.purge_interval_seconds", \.storePurgeIntervalSeconds, minimum: 0, maximum: 86_400, "Seconds between purges of expired sequences (ttl_seconds passed), which gives their bytes and their tenant's quota back (0: off; an expired sequence is then removed only when its name is written again)."),
        .strings("store.redis_url", \.storeRedisURLs, flag: .option("redis-url"), "The shared tier: redis://[USER:PASSWORD@]HOST:PORT/DB of the Redis/Valkey server many daemons share (writes are acknowledged once it has them; the local store caches it). Several: seeds of a Redis Cluster. rediss:// (TLS) is not supported by this build. Empty: no shared tier.",
                 check: { text throws(SettingProblem) in
                     do { _ = try RedisURL(parsing: text) } catch { throw SettingProblem("\(error)") }
                 }),
        .strings("store.redis_cluster", \.storeRedisCluster, flag: .option("redis-cluster"), "The shared tier on a Redis Cluster: seed nodes HOST:PORT (comma-separated or repeated); credentials come from store.redis_url's first URL when set.",
                 check: { text throws(SettingProblem) in
                     for node in text.split(separator: ",") {
                         do { _ = try RedisNode(parsing: String(node)) } catch { throw SettingProblem("\(error)") }
                     }
                 }),
        .integer("store.redis_timeout_ms", \.storeRedisTimeoutMilliseconds, flag: .option("redis-timeout-ms"), minimum: 1, maximum: 600_000, "Milliseconds each shared-tier connect, read or write may take before the call fails as unavailable."),
        .string("auth.server_secret_key_file", \.serverSecretKeyFile, flag: .option("server-secret-key-file"), "The daemon's CURVE secret key (lomactl keygen). Set: every tcp endpoint requires CURVE and admits only keys in auth.clients_file. Empty: tcp is plain.",
                parse: { $0 }, format: { $0 }),
        .string("auth.clients_file", \.clientsFile, flag: .option("clients-file"), reloadable: true, "TOML file mapping CURVE public keys and local uids to tenants, with optional quotas. Empty: ipc clients are the \"local\" tenant and no CURVE client is admitted.",
                parse: { $0 }, format: { $0 }),
        .number("batching.window_ms", \.batchWindowMilliseconds, flag: .option("batch-window-ms"), minimum: 0, maximum: 86_400_000, reloadable: true, "Milliseconds a compress request may wait for others for its model to share one pass (0: never)."),
        .integer("batching.max_requests", \.batchMaxRequests, flag: .option("max-batch"), minimum: 1, maximum: 255, reloadable: true, "Most compress requests one pass serves."),
        .integer("limits.max_frame_bytes", \.maxFrameBytes, flag: .option("max-frame-bytes"), minimum: 1, maximum: Int.max / 4, reloadable: true, "Largest tensor frame accepted, in bytes."),
        .integer("limits.max_frames", \.maxFrames, flag: .option("max-frames"), minimum: 1, maximum: 255, reloadable: true, "Most frames in one message, envelope included."),
        .integer("limits.queue_depth", \.queueDepth, flag: .option("queue-depth"), minimum: 0, reloadable: true, "Requests that may wait for a worker before new ones are refused as busy."),
        .integer("limits.max_queued_bytes", \.maxQueuedBytes, flag: .option("max-queued-bytes"), minimum: 1, reloadable: true, "Bytes of requests that may wait for or be held by workers before new ones are refused as busy: the bound on request memory."),
        .integer("limits.max_connections", \.maxConnections, minimum: 0, "Client connections held at once; more are shut as soon as they connect and counted as refused. 0: the open-file limit less 128 for the daemon's own files and 2048 for connections accepted faster than they can be refused, at most 32768 (lomad raises its soft limit to the hard one at start)."),
        .integer("limits.max_connections_per_peer", \.maxConnectionsPerPeer, minimum: 0, "Connections one peer (a uid on ipc, an address on tcp) may hold, so one cannot take every slot. 0: half of limits.max_connections."),
        .integer("limits.max_reply_bytes", \.maxReplyBytes, minimum: 1, reloadable: true, "Bytes of replies that may wait for clients to read them; a reply past it is answered resource_exhausted instead: the bound on reply memory."),
        .integer("limits.shared_memory_max_bytes", \.sharedMemoryMaxBytes, minimum: 0, reloadable: true, "Most bytes one request from a client on this host (ipc) may name in its own shared-memory segment, as input and as reply capacity, each; 0: shared memory is refused and clients send frames."),
        .number("limits.handshake_timeout_seconds", \.handshakeTimeoutSeconds, minimum: 0.001, maximum: 86_400, "Seconds a new connection has to complete the ZMTP handshake before it is closed, so connections that never greet do not keep their slot."),
        .number("limits.drain_timeout_seconds", \.drainTimeoutSeconds, flag: .option("drain-timeout"), minimum: 0, maximum: 86_400, reloadable: true, "Seconds to keep answering accepted requests after SIGTERM; then running passes are cancelled and their requests answered unavailable."),
        .integer("limits.max_segments_per_request", \.maxSegmentsPerRequest, flag: .option("max-segments"), minimum: 1, reloadable: true, "Most segments one compress request may carry (the stored memory of a sequence it extends does not count); more is refused as resource_exhausted before any compute."),
        .number("limits.max_compute_seconds", \.maxComputeSeconds, flag: .option("max-compute-seconds"), minimum: 0, maximum: 86_400, reloadable: true, "Seconds one pass may compute before it is stopped and its requests answered resource_exhausted (0: no limit)."),
        .integer("limits.tenant_queue_percent", \.tenantQueuePercent, flag: .option("tenant-queue-percent"), minimum: 1, maximum: 100, reloadable: true, "Percent of limits.queue_depth one tenant's waiting requests may take once the clients file names a tenant; past it that tenant is refused as busy while others are still admitted."),
        .integer("threads.workers", \.workers, flag: .option("workers"), minimum: 1, maximum: 1024, "Compute worker threads."),
        .integer("threads.blas", \.blasThreads, flag: .option("blas-threads"), minimum: 0, maximum: 1024, "Threads the engine uses for each product, its own kernel and OpenBLAS (0: one per core)."),
        .choice("engine.weights", \.engineWeights, "How models hold their linear weights: \"auto\" (bf16 for bf16 checkpoints, exact and half the bytes; f32 for f32/f16 ones), \"bf16\" (always; f32/f16 weights rounded, see docs/engine.md) or \"f32\" (always). Products accumulate in f32."),
        .string("engine.kernel", \.engineKernel, "Product kernel: \"auto\" (the best this CPU runs), \"avx512\", \"avx2\" or \"portable\". One the CPU lacks is refused at start.",
                parse: { text throws(SettingProblem) in
                    guard let kernel = EngineOptions.Kernel(rawValue: text) else {
                        throw SettingProblem("expected one of " + EngineOptions.Kernel.allCases.map { "\"\($0.rawValue)\"" }.joined(separator: ", "))
                    }
                    do { _ = try EngineOptions(kernel: kernel).resolvedKernel() } catch { throw SettingProblem("\(error)") }
                    return kernel
                }, format: \.rawValue),
        .string("socket.mode", \.socketMode, flag: .option("socket-mode"), "Permission bits of ipc socket files, in octal; connecting needs write permission.",
                parse: { text throws(SettingProblem) in
                    guard (3...4).contains(text.count), let mode = UInt16(text, radix: 8), mode <= 0o777 else {
                        throw SettingProblem("expected octal permission bits such as \"0660\"")
                    }
                    return mode
                }, format: { "0" + String($0, radix: 8) }),
        .string("socket.group", \.socketGroup, flag: .option("socket-group"), "Group owning ipc socket files: the clients allowed to connect. Empty: the daemon's own group.",
                parse: { $0 }, format: { $0 }),
        .string("metrics.listen", \.metricsListen, flag: .option("metrics-listen"), "HOST:PORT of the Prometheus endpoint (GET /metrics), e.g. \"127.0.0.1:9464\". Empty: off.",
                parse: { text throws(SettingProblem) in
                    if !text.isEmpty { _ = try ListenAddress(parsing: text) }
                    return text
                }, format: { $0 }),
        .string("log.level", \.logLevel, flag: .option("log-level"), reloadable: true, "trace, debug, info, notice, warning, error or critical.",
                parse: { text throws(SettingProblem) in
                    guard let level = Logger.Level(rawValue: text) else {
                        throw SettingProblem("expected one of trace, debug, info, notice, warning, error, critical")
                    }
                    return level
                }, format: \.rawValue),
    ]

    public static func key(named name: String) -> SettingKey? {
        keys.first { $0.name == name }
    }
}
