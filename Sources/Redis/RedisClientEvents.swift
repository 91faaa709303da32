/// What a `RedisClient` reports as it works, so its owner can log and count it without the
/// client knowing any logging or metrics library.
public struct RedisClientEvents: Sendable {
    /// A node became reachable (`up` true) or failed (`up` false, with the reason and the wait
    /// before it is tried again). Called on changes only, not for every failed call.
    public var nodeStateChanged: @Sendable (_ node: RedisNode, _ up: Bool, _ reason: String) -> Void
    /// Every completed call (one command or one pipeline, redirects included): how long it took
    /// and whether it got replies (error replies count as replies).
    public var callCompleted: @Sendable (_ duration: Duration, _ succeeded: Bool) -> Void
    /// The cluster's slot map was loaded again (at start, after MOVED, after a node failed).
    public var topologyRefreshed: @Sendable (_ nodes: Int) -> Void

    public init(nodeStateChanged: @escaping @Sendable (RedisNode, Bool, String) -> Void = { _, _, _ in },
                callCompleted: @escaping @Sendable (Duration, Bool) -> Void = { _, _ in },
                topologyRefreshed: @escaping @Sendable (Int) -> Void = { _ in }) {
        self.nodeStateChanged = nodeStateChanged
        self.callCompleted = callCompleted
        self.topologyRefreshed = topologyRefreshed
    }
}
