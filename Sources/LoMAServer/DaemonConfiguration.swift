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

    public init(
        endpoints: [Endpoint] = [Endpoint.defaultIPC],
        workers: Int = 2,
        queueDepth: Int = 64,
        limits: ProtocolLimits = ProtocolLimits(),
        drainTimeout: Duration = .seconds(10),
        sendHighWaterMark: Int32 = 1000
    ) {
        self.endpoints = endpoints
        self.workers = workers
        self.queueDepth = queueDepth
        self.limits = limits
        self.drainTimeout = drainTimeout
        self.sendHighWaterMark = sendHighWaterMark
    }
}
