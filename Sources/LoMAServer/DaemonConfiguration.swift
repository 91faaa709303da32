import LoMAProtocol

/// Everything `Daemon` needs to run, with the defaults an operator gets without configuration.
public struct DaemonConfiguration: Sendable {
    /// ROUTER endpoints clients connect to (`ipc://` and/or `tcp://`).
    public var endpoints: [Endpoint]
    /// Compute worker threads; each handles one request at a time.
    public var workers: Int
    /// Requests allowed to wait for a worker; beyond it the broker answers RESOURCE_EXHAUSTED at once
    /// rather than letting latency grow without bound.
    public var queueDepth: Int
    public var limits: ProtocolLimits
    /// How long shutdown waits for accepted requests before answering the rest UNAVAILABLE.
    public var drainTimeout: Duration
    /// Outgoing messages buffered per client before replies to a client that does not read are dropped.
    public var sendHighWaterMark: Int32
    /// How long a compress request may wait for others for the same model, so that one pass serves
    /// them all (matrix products over many memory tokens run near the machine's peak; over few,
    /// reading the weights dominates). Zero sends every request on its own.
    public var batchWindow: Duration
    /// Most compress requests one pass serves.
    public var maxBatchRequests: Int

    public init(
        endpoints: [Endpoint] = [Endpoint.defaultIPC],
        workers: Int = 2,
        queueDepth: Int = 64,
        limits: ProtocolLimits = ProtocolLimits(),
        drainTimeout: Duration = .seconds(10),
        sendHighWaterMark: Int32 = 1000,
        batchWindow: Duration = .milliseconds(2),
        maxBatchRequests: Int = 16
    ) {
        self.endpoints = endpoints
        self.workers = workers
        self.queueDepth = queueDepth
        self.limits = limits
        self.drainTimeout = drainTimeout
        self.sendHighWaterMark = sendHighWaterMark
        self.batchWindow = batchWindow
        self.maxBatchRequests = maxBatchRequests
    }
}
