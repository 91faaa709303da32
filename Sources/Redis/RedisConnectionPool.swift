import Dispatch
import Synchronization

/// The connections to one node: at most `size` open, idle ones reused, broken ones dropped.
/// After a failure the node backs off (`RedisBackoff`): calls fail at once with `unavailable`
/// until the wait is over, and then one call tries a fresh connection.
final class RedisConnectionPool: Sendable {
    let node: RedisNode
    private let credentials: RedisURL
    private let timeout: Duration
    private let permits: DispatchSemaphore
    private let clock: @Sendable () -> ContinuousClock.Instant
    private let events: RedisClientEvents
    private let state: Mutex<State>

    private struct State {
        var idle: [RedisConnection] = []
        var backoff: RedisBackoff
        var up = true
    }

    init(node: RedisNode, configuration: RedisClientConfiguration, credentials: RedisURL,
         clock: @escaping @Sendable () -> ContinuousClock.Instant, events: RedisClientEvents) {
        self.node = node
        self.credentials = credentials
        timeout = configuration.timeout
        permits = DispatchSemaphore(value: configuration.poolSize)
        self.clock = clock
        self.events = events
        state = Mutex(State(backoff: RedisBackoff(initial: configuration.initialBackoff, maximum: configuration.maximumBackoff)))
    }

    var isUp: Bool { state.withLock { $0.up } }

    /// Runs `body` on a connection of this node. A connection that breaks is closed and the
    /// node backs off; one that succeeds goes back to the idle list.
    func withConnection<Result>(_ body: (RedisConnection) throws(RedisError) -> Result) throws(RedisError) -> Result {
        let (seconds, attoseconds) = timeout.components
        let wait = DispatchTime.now() + .nanoseconds(Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
        guard permits.wait(timeout: wait) == .success else {
            throw RedisError(.unavailable, "all connections to Redis at \(node) stayed busy for \(timeout)")
        }
        defer { permits.signal() }
        // An idle connection may have died with a server restart since it was last used: its
        // failure is retried once on a fresh connection before the node counts as down. Callers
        // make their commands safe to send twice (idempotent writes, version-checked scripts).
        var reusedFailure: RedisError?
        while true {
            let now = clock()
            let mayReuse = reusedFailure == nil
            let (reused, waiting) = state.withLock { (state) -> (RedisConnection?, Int?) in
                if mayReuse, let connection = state.idle.popLast() { return (connection, nil) }
                return (nil, state.backoff.isWaiting(at: now) ? state.backoff.failures : nil)
            }
            if let waiting {
                throw RedisError(.unavailable, "Redis at \(node) is down (\(waiting) failures in a row); retrying after backoff")
            }
            let connection: RedisConnection
            do throws(RedisError) {
                if let reused {
                    connection = reused
                } else {
                    connection = try RedisConnection(node: node, user: credentials.user, password: credentials.password,
                                                     database: credentials.database, timeout: timeout)
                }
            } catch {
                if error.kind == .unavailable { markDown(error.message) }
                throw error
            }
            do throws(RedisError) {
                let result = try body(connection)
                markUp(keeping: connection)
                return result
            } catch {
                guard connection.isBroken else {
                    markUp(keeping: connection)
                    throw error
                }
                if reused != nil, reusedFailure == nil {
                    reusedFailure = error
                    state.withLock { $0.idle.removeAll() }
                    continue
                }
                markDown(error.message)
                throw error
            }
        }
    }

    /// Closes every idle connection (after a topology change the node may be another server).
    func drain() {
        state.withLock { $0.idle.removeAll() }
    }

    private func markUp(keeping connection: RedisConnection) {
        let changed = state.withLock { (state) -> Bool in
            state.idle.append(connection)
            state.backoff.succeeded()
            defer { state.up = true }
            return !state.up
        }
        if changed { events.nodeStateChanged(node, true, "reachable again") }
    }

    private func markDown(_ reason: String) {
        let now = clock()
        let (changed, delay) = state.withLock { (state) -> (Bool, Duration) in
            // Every idle connection of a node that failed is suspect; they reconnect lazily.
            state.idle.removeAll()
            let delay = state.backoff.failed(at: now)
            defer { state.up = false }
            return (state.up, delay)
        }
        if changed { events.nodeStateChanged(node, false, "\(reason); retrying in \(delay) with backoff") }
    }
}
