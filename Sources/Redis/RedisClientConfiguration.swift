/// How a `RedisClient` reaches Redis: one server, or a Redis Cluster through seed nodes.
public struct RedisClientConfiguration: Sendable {
    public enum Topology: Sendable, Equatable {
        case single(RedisURL)
        /// Any reachable seeds; the client learns the rest from `CLUSTER SLOTS`. Credentials
        /// come from the first URL (a cluster has one ACL); the database is always 0.
        case cluster([RedisURL])
    }

    public var topology: Topology
    /// Bound on each connect, read and write; a call that exceeds it fails with `unavailable`.
    public var timeout: Duration
    /// Connections open at most to each node; a caller beyond that waits up to `timeout`.
    /// Sized to the daemon's workers, which are the callers.
    public var poolSize: Int
    /// The wait before retrying a node that failed, doubling to `maximumBackoff`.
    public var initialBackoff: Duration
    public var maximumBackoff: Duration

    public init(topology: Topology, timeout: Duration = .seconds(1), poolSize: Int = 4,
                initialBackoff: Duration = .milliseconds(100), maximumBackoff: Duration = .seconds(5)) {
        self.topology = topology
        self.timeout = timeout
        self.poolSize = max(1, poolSize)
        self.initialBackoff = initialBackoff
        self.maximumBackoff = maximumBackoff
    }

    var credentials: RedisURL {
        switch topology {
        case .single(let url): url
        case .cluster(let seeds): seeds.first ?? RedisURL(node: RedisNode(host: "127.0.0.1", port: 6379))
        }
    }
}
