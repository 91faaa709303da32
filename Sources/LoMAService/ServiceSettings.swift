import Logging
import LoMAModel
import LoMAProtocol
import LoMARuntime

/// Every setting of `lomad serve`, with the defaults an operator gets without configuration.
/// Settings come from one TOML file, then command-line flags, then `LOMAD_*` environment
/// variables, each overriding the one before (`ServiceSettings.resolve`); the names are the
/// file's dotted keys (`limits.queue_depth`), listed once in `ServiceSettings.keys`.
public struct ServiceSettings: Sendable, Equatable {
    /// `ipc://PATH` or `tcp://HOST:PORT`; empty means the default socket.
    public var endpoints: [String] = []
    /// `NAME=DIR` or `DIR`; empty means the shipped model.
    public var models: [String] = []
    public var storeMode: StoreMode = .memory
    /// Empty means `$STATE_DIRECTORY`, else `$XDG_STATE_HOME/lomad`, else `~/.local/state/lomad`.
    public var storeDirectory = ""
    public var storeRAMBudgetBytes = 1 << 30
    public var storeMapSizeBytes = 64 << 30
    public var storeQuantization: StoreQuantization = .none
    /// Zero: tenants without a quota of their own in the clients file may store without limit.
    public var tenantQuotaBytes = 0
    /// Zero: expired sequences are removed only when their names are written again.
    public var storePurgeIntervalSeconds = 60.0
    /// Empty: no shared tier. One URL: a Redis server; several: Redis Cluster seeds.
    public var storeRedisURLs: [String] = []
    /// `HOST:PORT` seeds of a Redis Cluster (each item may hold several, comma-separated).
    public var storeRedisCluster: [String] = []
    public var storeRedisTimeoutMilliseconds = 1000
    public var batchWindowMilliseconds = 2.0
    public var batchMaxRequests = 16
    public var maxFrameBytes = ProtocolLimits().maxFrameBytes
    public var maxFrames = ProtocolLimits().maxFrames
    public var queueDepth = 64
    public var maxQueuedBytes = 1 << 30
    public var drainTimeoutSeconds = 10.0
    /// A 1,536-segment request kept a worker busy for most of a minute; a bound per request keeps
    /// one client from holding a worker that long.
    public var maxSegmentsPerRequest = 1024
    public var maxComputeSeconds = 60.0
    public var tenantQueuePercent = 50
    /// Zero: derived from the open-file limit (`DescriptorLimit.defaultMaxConnections`).
    public var maxConnections = 0
    /// Zero: half of `maxConnections`.
    public var maxConnectionsPerPeer = 0
    public var maxReplyBytes = 256 << 20
    public var sharedMemoryMaxBytes = 1 << 30
    public var handshakeTimeoutSeconds = 10.0
    public var workers = 2
    /// Zero means one per core (OpenBLAS's own choice).
    public var blasThreads = 0
    /// `auto`: bf16 for bf16 checkpoints (exact, half the bytes), f32 otherwise.
    public var engineWeights: EngineOptions.Weights = .auto
    /// `auto`: the best kernel this CPU runs.
    public var engineKernel: EngineOptions.Kernel = .auto
    public var socketMode: UInt16 = 0o660
    /// Empty keeps the daemon's own group.
    public var socketGroup = ""
    /// Empty: tcp endpoints are plain (no CURVE).
    public var serverSecretKeyFile = ""
    /// Empty: no CURVE client is admitted and every ipc client is the default tenant.
    public var clientsFile = ""
    /// `HOST:PORT` of the Prometheus endpoint; empty turns metrics off.
    public var metricsListen = ""
    public var logLevel: Logger.Level = .info

    public init() {}

    public enum StoreMode: String, Sendable, CaseIterable {
        case memory, durable
    }

    public enum StoreQuantization: String, Sendable, CaseIterable {
        case none, int8
    }
}

extension ServiceSettings {
    /// What the broker and workers run with. Endpoints were checked when they were set.
    /// - Parameter defaultEndpoint: served when no endpoint is configured.
    public func serverConfiguration(defaultEndpoint: Endpoint) throws -> ServerConfiguration {
        ServerConfiguration(
            endpoints: try endpoints.isEmpty ? [defaultEndpoint] : endpoints.map { try Endpoint($0) },
            workers: workers,
            queueDepth: queueDepth,
            maxQueuedBytes: maxQueuedBytes,
            limits: ProtocolLimits(maxFrameBytes: maxFrameBytes, maxFrames: maxFrames),
            drainTimeout: .milliseconds(Int64((drainTimeoutSeconds * 1000).rounded())),
            batchWindow: .microseconds(Int64((batchWindowMilliseconds * 1000).rounded())),
            maxBatchRequests: batchMaxRequests,
            maxSegmentsPerRequest: maxSegmentsPerRequest,
            maxComputeTime: maxComputeSeconds > 0 ? .milliseconds(Int64((maxComputeSeconds * 1000).rounded())) : nil,
            tenantQueuePercent: tenantQueuePercent,
            maxConnections: maxConnections > 0 ? maxConnections : DescriptorLimit.defaultMaxConnections,
            maxConnectionsPerPeer: maxConnectionsPerPeer > 0 ? maxConnectionsPerPeer : nil,
            maxReplyBytes: maxReplyBytes,
            sharedMemoryMaxBytes: sharedMemoryMaxBytes,
            handshakeTimeout: .milliseconds(Int64((handshakeTimeoutSeconds * 1000).rounded())),
            socketPermissions: SocketPermissions(mode: socketMode, group: socketGroup.isEmpty ? nil : socketGroup))
    }

    /// How the engine holds weights and which product kernel it runs, for every model loaded.
    public var engineOptions: EngineOptions { EngineOptions(weights: engineWeights, kernel: engineKernel) }

    /// How often `ExpiryPurger` removes expired sequences; nil when `store.purge_interval_seconds`
    /// is 0 (no purger runs).
    public var storePurgeInterval: Duration? {
        storePurgeIntervalSeconds > 0 ? .milliseconds(Int64((storePurgeIntervalSeconds * 1000).rounded(.up))) : nil
    }

    /// The keys whose values differ between two settings, in `keys` order.
    public func changedKeys(comparedTo other: ServiceSettings) -> [SettingKey] {
        Self.keys.filter { $0.read(self) != $0.read(other) }
    }
}
