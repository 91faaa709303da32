import Foundation
import Synchronization

/// A thread-safe Redis client over pooled blocking connections, for one server or a Redis
/// Cluster. In a cluster it routes each call by its key's slot (`RedisSlot`) through the slot map
/// it loads with `CLUSTER SLOTS`, follows `MOVED` (and reloads the map) and `ASK` (with
/// `ASKING`), waits out `TRYAGAIN`/`CLUSTERDOWN` during a migration or failover, and reloads the
/// map when a node fails. Every call is bounded by the configured timeout per round trip.
public final class RedisClient: Sendable {
    public let configuration: RedisClientConfiguration
    private let clock: @Sendable () -> ContinuousClock.Instant
    private let events: RedisClientEvents
    private let state: Mutex<State>
    /// Redirects and retries one call may follow before it gives up.
    private static let maxAttempts = 6

    private struct State {
        var pools: [RedisNode: RedisConnectionPool] = [:]
        /// Cluster mode: the master serving each slot (nil until loaded).
        var slots: [RedisNode?] = []
        var seeds: [RedisNode] = []
    }

    public init(configuration: RedisClientConfiguration, events: RedisClientEvents = RedisClientEvents(),
                clock: @escaping @Sendable () -> ContinuousClock.Instant = { ContinuousClock.now }) {
        self.configuration = configuration
        self.events = events
        self.clock = clock
        var initial = State()
        switch configuration.topology {
        case .single(let url): initial.seeds = [url.node]
        case .cluster(let seeds):
            initial.seeds = seeds.map(\.node)
            initial.slots = Array(repeating: nil, count: RedisSlot.count)
        }
        state = Mutex(initial)
    }

    public var isCluster: Bool {
        if case .cluster = configuration.topology { return true }
        return false
    }

    /// Whether the last call to every known node succeeded (false while any is backing off).
    public var allNodesUp: Bool {
        state.withLock { state in state.pools.values.allSatisfy(\.isUp) }
    }

    /// The nodes the client knows: the server, or the cluster's masters (seeds until loaded).
    public var nodes: [RedisNode] {
        state.withLock { state in
            let known = Set(state.slots.compactMap { $0 })
            return known.isEmpty ? state.seeds : known.sorted { $0.description < $1.description }
        }
    }

    /// Runs one command on the node serving `key` (any node when nil). Error replies other than
    /// redirects come back as `.error`.
    public func execute(_ arguments: [[UInt8]], key: [UInt8]?) throws(RedisError) -> RedisReply {
        try pipeline([arguments], key: key)[0]
    }

    /// Runs commands in one round trip on the node serving `key`; in a cluster every key they
    /// touch must hash to that slot (share a hash tag). A redirect resends all of them, so they
    /// must be safe to run twice.
    public func pipeline(_ commands: [[[UInt8]]], key: [UInt8]?) throws(RedisError) -> [RedisReply] {
        let started = clock()
        do throws(RedisError) {
            let replies = try route(commands, slot: key.map(RedisSlot.of))
            events.callCompleted(clock() - started, true)
            return replies
        } catch {
            events.callCompleted(clock() - started, false)
            throw error
        }
    }

    /// Runs `body` once against every master (single mode: the server), for commands such as
    /// SCAN that are per node.
    public func onEveryNode<Result>(_ body: (_ run: ([[UInt8]]) throws(RedisError) -> RedisReply) throws(RedisError) -> Result)
        throws(RedisError) -> [Result] {
        if isCluster, state.withLock({ $0.slots.allSatisfy { $0 == nil } }) { try refreshSlots() }
        var results: [Result] = []
        for node in nodes {
            let pool = pool(for: node)
            results.append(try pool.withConnection { (connection) throws(RedisError) in
                try body { (arguments) throws(RedisError) in try connection.command(arguments) }
            })
        }
        return results
    }

    // MARK: - Routing

    private func route(_ commands: [[[UInt8]]], slot: Int?) throws(RedisError) -> [RedisReply] {
        var asking: RedisNode?
        var lastError = RedisError(.unavailable, "no Redis node could be reached")
        for attempt in 0..<Self.maxAttempts {
            let node: RedisNode
            if let asking {
                node = asking
            } else {
                do throws(RedisError) { node = try target(slot: slot) } catch {
                    lastError = error
                    if attempt + 1 < Self.maxAttempts, isCluster { pause(attempt); continue }
                    throw error
                }
            }
            let sent = asking == nil ? commands : commands.flatMap { [[Array("ASKING".utf8)], $0] }
            let replies: [RedisReply]
            do throws(RedisError) {
                replies = try pool(for: node).withConnection { (connection) throws(RedisError) in try connection.pipeline(sent) }
            } catch {
                guard error.kind == .unavailable, isCluster, attempt + 1 < Self.maxAttempts else { throw error }
                // The node may have failed over: reload who serves the slot and try there.
                lastError = error
                asking = nil
                try? refreshSlots()
                pause(attempt)
                continue
            }
            let answers = asking == nil ? replies : stride(from: 1, to: replies.count, by: 2).map { replies[$0] }
            asking = nil
            switch Self.redirect(in: answers) {
            case nil:
                return answers
            case .moved(let movedSlot, let to)?:
                state.withLock { state in if movedSlot < state.slots.count { state.slots[movedSlot] = to } }
                try? refreshSlots()
                lastError = RedisError(.unavailable, "slot \(movedSlot) kept moving (last to \(to))")
            case .ask(_, let to)?:
                asking = to
                lastError = RedisError(.unavailable, "slot kept being redirected with ASK (last to \(to))")
            case .retry(let message)?:
                lastError = RedisError(.unavailable, "the cluster is reconfiguring: \(message)")
                pause(attempt)
            }
        }
        throw lastError
    }

    private enum Redirect {
        case moved(Int, RedisNode)
        case ask(Int, RedisNode)
        case retry(String)
    }

    private static func redirect(in replies: [RedisReply]) -> Redirect? {
        for reply in replies {
            guard case .error(let message) = reply else { continue }
            let parts = message.split(separator: " ")
            if parts.count == 3, parts[0] == "MOVED" || parts[0] == "ASK", let slot = Int(parts[1]),
               let node = try? RedisNode(parsing: String(parts[2])) {
                return parts[0] == "MOVED" ? .moved(slot, node) : .ask(slot, node)
            }
            if message.hasPrefix("TRYAGAIN") || message.hasPrefix("CLUSTERDOWN") { return .retry(message) }
        }
        return nil
    }

    private func pause(_ attempt: Int) {
        let delay = min(configuration.initialBackoff * (1 << min(attempt, 5)), configuration.timeout)
        Thread.sleep(forTimeInterval: Double(delay.components.seconds) + Double(delay.components.attoseconds) * 1e-18)
    }

    private func target(slot: Int?) throws(RedisError) -> RedisNode {
        guard isCluster else { return state.withLock { $0.seeds[0] } }
        let known = state.withLock { state in slot.flatMap { state.slots[$0] } ?? state.slots.lazy.compactMap { $0 }.first }
        if let known { return known }
        try refreshSlots()
        let loaded = state.withLock { state in slot.flatMap { state.slots[$0] } ?? state.slots.lazy.compactMap { $0 }.first }
        guard let loaded else {
            throw RedisError(.unavailable, "no Redis Cluster node serves slot \(slot.map(String.init) ?? "any")")
        }
        return loaded
    }

    private func pool(for node: RedisNode) -> RedisConnectionPool {
        state.withLock { state in
            if let pool = state.pools[node] { return pool }
            let pool = RedisConnectionPool(node: node, configuration: configuration, credentials: configuration.credentials,
                                           clock: clock, events: events)
            state.pools[node] = pool
            return pool
        }
    }

    /// Loads the slot map with `CLUSTER SLOTS` from the first known node that answers.
    public func refreshSlots() throws(RedisError) {
        guard isCluster else { return }
        let candidates = state.withLock { state in
            Array(Set(state.slots.compactMap { $0 })).sorted { $0.description < $1.description } + state.seeds
        }
        var lastError = RedisError(.unavailable, "no Redis Cluster node is configured")
        for node in candidates {
            let reply: RedisReply
            do throws(RedisError) {
                reply = try pool(for: node).withConnection { (connection) throws(RedisError) in
                    try connection.command([Array("CLUSTER".utf8), Array("SLOTS".utf8)])
                }
            } catch {
                lastError = error
                continue
            }
            guard let ranges = reply.elements else {
                lastError = RedisError(.protocolViolation, "CLUSTER SLOTS from \(node) answered \(reply)")
                continue
            }
            var slots = [RedisNode?](repeating: nil, count: RedisSlot.count)
            for range in ranges {
                guard let fields = range.elements, fields.count >= 3, let first = fields[0].integer, let last = fields[1].integer,
                      let master = fields[2].elements, master.count >= 2, let host = master[0].text, let port = master[1].integer,
                      first >= 0, last < RedisSlot.count, first <= last else { continue }
                // An empty host means "the node you asked" (Redis 7 with cluster-announce-hostname unset).
                let owner = RedisNode(host: host.isEmpty ? node.host : host, port: Int(port))
                for slot in Int(first)...Int(last) { slots[slot] = owner }
            }
            let count = Set(slots.compactMap { $0 }).count
            state.withLock { $0.slots = slots }
            events.topologyRefreshed(count)
            return
        }
        throw lastError
    }
}
