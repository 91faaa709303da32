import Foundation

/// A real 3-master Redis Cluster for tests (no replicas), each node a `RedisServerProcess` with
/// an append-only file, created with `redis-cli --cluster create` and waited on until every node
/// reports `cluster_state:ok`.
public final class RedisClusterProcesses: @unchecked Sendable {
    public let nodes: [RedisServerProcess]

    public init(size: Int = 3) throws {
        nodes = try (0..<size).map { _ in try RedisServerProcess(cluster: true) }
        let create = try nodes[0].cli(["--cluster", "create"] + nodes.map(\.node) + ["--cluster-replicas", "0", "--cluster-yes"])
        guard create.status == 0 else { throw RedisServerError("redis-cli --cluster create failed: \(create.stdout) \(create.stderr)") }
        try waitUntilHealthy()
    }

    /// `HOST:PORT,...` of every node, for `--redis-cluster`.
    public var seeds: String { nodes.map(\.node).joined(separator: ",") }

    /// Waits until every running node says `cluster_state:ok`.
    public func waitUntilHealthy(timeout: Duration = .seconds(20)) throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let healthy = nodes.allSatisfy { node in (try? node.cli(["CLUSTER", "INFO"]))?.stdout.contains("cluster_state:ok") == true }
            if healthy { return }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw RedisServerError("the Redis Cluster did not reach cluster_state:ok")
    }

    /// The node serving `slot`, from `CLUSTER NODES` (`ID HOST:PORT@BUS FLAGS ... START-END ...`).
    public func owner(ofSlot slot: Int) throws -> RedisServerProcess {
        for line in try nodes[0].cli(["CLUSTER", "NODES"]).stdout.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 8, let address = fields[1].split(separator: "@").first,
                  let port = address.split(separator: ":").last.flatMap({ Int($0) }) else { continue }
            for range in fields[8...] {
                let bounds = range.split(separator: "-").compactMap { Int($0) }
                guard let low = bounds.first, let high = bounds.last, (low...high).contains(slot) else { continue }
                if let node = nodes.first(where: { $0.port == port }) { return node }
            }
        }
        throw RedisServerError("no node serves slot \(slot)")
    }

    /// The slot of `key`, as the cluster computes it.
    public func slot(of key: String) throws -> Int {
        guard let slot = Int(try nodes[0].cli(["CLUSTER", "KEYSLOT", key]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw RedisServerError("CLUSTER KEYSLOT \(key) gave no number")
        }
        return slot
    }

    /// Moves `slot` and its keys from its owner to `target` the way resharding does (IMPORTING /
    /// MIGRATING, MIGRATE, SETSLOT NODE). `between` runs after the slot is marked migrating and
    /// again after its keys moved but before ownership changes: clients then get ASK redirects.
    public func migrate(slot: Int, to target: RedisServerProcess, between: () async throws -> Void) async throws {
        let source = try owner(ofSlot: slot)
        let sourceID = try id(of: source), targetID = try id(of: target)
        try target.cli(["CLUSTER", "SETSLOT", "\(slot)", "IMPORTING", sourceID])
        try source.cli(["CLUSTER", "SETSLOT", "\(slot)", "MIGRATING", targetID])
        try await between()
        let keys = try source.cli(["CLUSTER", "GETKEYSINSLOT", "\(slot)", "1000"]).stdout.split(separator: "\n").map(String.init)
        if !keys.isEmpty {
            let moved = try source.cli(["MIGRATE", "127.0.0.1", "\(target.port)", "", "0", "5000", "KEYS"] + keys)
            guard moved.stdout.contains("OK") else { throw RedisServerError("MIGRATE failed: \(moved.stdout) \(moved.stderr)") }
        }
        try await between()
        for node in nodes { try node.cli(["CLUSTER", "SETSLOT", "\(slot)", "NODE", targetID]) }
    }

    public func id(of node: RedisServerProcess) throws -> String {
        try node.cli(["CLUSTER", "MYID"]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
