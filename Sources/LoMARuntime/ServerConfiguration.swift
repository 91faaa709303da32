import LoMAProtocol

/// Everything `Server` needs to run, with the defaults an operator gets without configuration.
public struct ServerConfiguration: Sendable {
    /// ROUTER endpoints clients connect to (`ipc://` and/or `tcp://`).
    public var endpoints: [Endpoint]
    /// Compute worker threads; each handles one request at a time.
    public var workers: Int
    /// Requests allowed to wait for a worker; beyond it the broker answers RESOURCE_EXHAUSTED at once
    /// rather than letting latency grow without bound.
    public var queueDepth: Int
    /// Bytes of request frames that may wait for a worker or be held by one. Queue depth alone
    /// does not bound memory (one request may carry hundreds of megabytes), so past this the
    /// broker answers RESOURCE_EXHAUSTED at once, as it does past the queue depth.
    public var maxQueuedBytes: Int
    public var limits: ProtocolLimits
    /// How long shutdown waits for accepted requests before answering the rest UNAVAILABLE.
    public var drainTimeout: Duration
    /// Outgoing messages buffered per client before replies to a client that does not read are dropped.
    /// Reply bytes are bounded by `maxReplyBytes`; this bounds what that does not count (libzmq's
    /// per-message bookkeeping and the small frames of each reply) per connection.
    public var sendHighWaterMark: Int32
    /// Incoming messages buffered per client before lomad stops reading that client's socket. The
    /// broker refuses what passes `maxQueuedBytes` only once it has read it; until then requests sit
    /// in libzmq's inbound queue, which `maxQueuedBytes` does not count. With libzmq's default
    /// (1000 per client) a flood of large requests faster than the broker reads them grows the
    /// daemon by up to 1000 requests per client; a few per client keep the rest in the clients'
    /// own queues and socket buffers (back-pressure), where they cost lomad nothing.
    public var receiveHighWaterMark: Int32
    /// How long a compress request may wait for others for the same model, so that one pass serves
    /// them all (matrix products over many memory tokens run near the machine's peak; over few,
    /// reading the weights dominates). Zero sends every request on its own.
    public var batchWindow: Duration
    /// Most compress requests one pass serves.
    public var maxBatchRequests: Int
    /// Most segments one compress request may carry, so that no single request can hold a worker
    /// for minutes; larger ones are refused before any compute.
    public var maxSegmentsPerRequest: Int
    /// How long one pass may compute before it is stopped between layers and its requests are
    /// answered RESOURCE_EXHAUSTED; nil for no limit.
    public var maxComputeTime: Duration?
    /// Percent of `queueDepth` one tenant's waiting requests may take, so that a tenant flooding
    /// the daemon is refused while other tenants' requests are still admitted.
    public var tenantQueuePercent: Int
    /// Client connections held at once (each costs a descriptor); the broker shuts any connection
    /// past it as soon as libzmq reports it. Derived from the open-file limit when not given.
    public var maxConnections: Int
    /// Connections one peer may hold: a uid on ipc (`SO_PEERCRED`), an address on tcp. Half of
    /// `maxConnections` when not given.
    public var maxConnectionsPerPeer: Int
    /// Bytes of reply frames handed to libzmq and not yet written to their client or dropped.
    /// A reply that would pass it is answered RESOURCE_EXHAUSTED instead, so clients that never
    /// read cannot make the daemon hold replies without bound (a small request can ask for a
    /// large reply).
    public var maxReplyBytes: Int
    /// Most bytes one request may name in a client's shared-memory segment (its input spans, and
    /// its reply capacity, each); 0 refuses shared memory, so every client sends frames. Bounds
    /// what a worker copies out of or into a segment for one request.
    public var sharedMemoryMaxBytes: Int
    /// How long a new connection has to complete the ZMTP handshake before libzmq closes it.
    public var handshakeTimeout: Duration
    /// Permission bits and group given to every `ipc://` socket file before the daemon reports
    /// ready, so that exactly the members of a clients' group can connect.
    public var socketPermissions: SocketPermissions
    /// The daemon's CURVE keys; when set, tcp endpoints admit only clients whose keys the clients
    /// file lists, and their requests act as the tenant it names.
    public var curveServer: CurveServerKeys?

    /// Requests one tenant may have waiting: its percent of the queue depth, at least one.
    var tenantQueueLimit: Int {
        max(1, (queueDepth * tenantQueuePercent + 99) / 100)
    }

    public init(
        endpoints: [Endpoint] = [Endpoint.defaultIPC],
        workers: Int = 2,
        queueDepth: Int = 64,
        maxQueuedBytes: Int = 1 << 30,
        limits: ProtocolLimits = ProtocolLimits(),
        drainTimeout: Duration = .seconds(10),
        sendHighWaterMark: Int32 = 100,
        receiveHighWaterMark: Int32 = 4,
        batchWindow: Duration = .milliseconds(2),
        maxBatchRequests: Int = 16,
        maxSegmentsPerRequest: Int = 1024,
        maxComputeTime: Duration? = .seconds(60),
        tenantQueuePercent: Int = 50,
        maxConnections: Int? = nil,
        maxConnectionsPerPeer: Int? = nil,
        maxReplyBytes: Int = 256 << 20,
        sharedMemoryMaxBytes: Int = 1 << 30,
        handshakeTimeout: Duration = .seconds(10),
        socketPermissions: SocketPermissions = SocketPermissions(),
        curveServer: CurveServerKeys? = nil
    ) {
        self.endpoints = endpoints
        self.workers = workers
        self.queueDepth = queueDepth
        self.maxQueuedBytes = maxQueuedBytes
        self.limits = limits
        self.drainTimeout = drainTimeout
        self.sendHighWaterMark = sendHighWaterMark
        self.receiveHighWaterMark = receiveHighWaterMark
        self.batchWindow = batchWindow
        self.maxBatchRequests = maxBatchRequests
        self.maxSegmentsPerRequest = maxSegmentsPerRequest
        self.maxComputeTime = maxComputeTime
        self.tenantQueuePercent = tenantQueuePercent
        let maxConnections = maxConnections ?? DescriptorLimit.defaultMaxConnections
        self.maxConnections = maxConnections
        self.maxConnectionsPerPeer = maxConnectionsPerPeer ?? max(1, maxConnections / 2)
        self.maxReplyBytes = maxReplyBytes
        self.sharedMemoryMaxBytes = sharedMemoryMaxBytes
        self.handshakeTimeout = handshakeTimeout
        self.socketPermissions = socketPermissions
        self.curveServer = curveServer
    }

    /// Takes the settings a running daemon can change without dropping clients (SIGHUP): limits,
    /// queue depth and bytes, per-tenant share, the reply and shared-memory limits, batching, the drain timeout and
    /// the per-request compute limits. Endpoints, workers and socket permissions
    /// stay as they were bound.
    public func reloading(_ new: ServerConfiguration) -> ServerConfiguration {
        var result = self
        result.limits = new.limits
        result.queueDepth = new.queueDepth
        result.maxQueuedBytes = new.maxQueuedBytes
        result.drainTimeout = new.drainTimeout
        result.batchWindow = new.batchWindow
        result.maxBatchRequests = new.maxBatchRequests
        result.maxSegmentsPerRequest = new.maxSegmentsPerRequest
        result.maxComputeTime = new.maxComputeTime
        result.tenantQueuePercent = new.tenantQueuePercent
        result.maxReplyBytes = new.maxReplyBytes
        result.sharedMemoryMaxBytes = new.sharedMemoryMaxBytes
        return result
    }
}
