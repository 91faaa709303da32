import CSodium
import LoMAStore
import Redis

/// The store's shared tier on Redis/Valkey (single server or Redis Cluster): the key schema of
/// `SharedTierKeys`, values wrapped by `SharedTierEnvelope`, and a compare-and-set script for
/// sequence records. Every Redis failure that says "cannot reach" becomes `unavailable`.
public final class RedisSharedTier: SharedTier {
    public let client: RedisClient
    private let models: ModelIdentities

    /// Replaces a sequence record only if its version is the expected one (empty: only if the
    /// sequence does not exist), and sets or clears its expiry in the same step.
    static let compareAndSet = Array("""
        local current = redis.call('HGET', KEYS[1], 'v')
        if ARGV[1] == '' then
          if current then return 0 end
        elseif current ~= ARGV[1] then
          return 0
        end
        redis.call('HSET', KEYS[1], 'v', ARGV[2], 'r', ARGV[3])
        if ARGV[4] == '' then redis.call('PERSIST', KEYS[1]) else redis.call('PEXPIREAT', KEYS[1], ARGV[4]) end
        return 1
        """.utf8)

    public init(client: RedisClient, models: ModelIdentities) {
        _ = sodium_init()
        self.client = client
        self.models = models
    }

    public var status: (location: String, up: Bool) {
        let location: String = switch client.configuration.topology {
        case .single(let url): url.description
        case .cluster(let seeds): "cluster " + seeds.map(\.node.description).joined(separator: ",")
        }
        return (location, client.allNodesUp)
    }

    public func digest(ofSegment bytes: [UInt8], model: String) -> [UInt8] {
        ModelIdentities.blake2b(bytes, key: models.digestKey(of: model))
    }

    // MARK: - Sequences

    public func loadSequence(tenant: String, name: String) throws(StoreError) -> SharedSequenceSnapshot? {
        let key = SharedTierKeys.sequence(tenant: tenant, name: name)
        let reply = try call { () throws(RedisError) in try client.execute([bytes("HMGET"), key, bytes("v"), bytes("r")], key: key) }
        guard let fields = reply.elements, fields.count == 2 else { throw unexpected(reply, "HMGET") }
        guard let record = fields[1].bytes else { return nil }
        return try snapshot(record, key: key, version: fields[0].text, what: "sequence '\(name)' of tenant '\(tenant)'")
    }

    public func storeSequence(tenant: String, name: String, snapshot: SharedSequenceSnapshot,
                              replacing expected: UInt64?) throws(StoreError) -> Bool {
        let key = SharedTierKeys.sequence(tenant: tenant, name: name)
        let value = SharedTierEnvelope.wrap(snapshot.encoded, kind: .sequence, identity: models.identity(of: snapshot.model), key: key)
        let reply = try call { () throws(RedisError) in
            try client.execute([bytes("EVAL"), Self.compareAndSet, bytes("1"), key, bytes(expected.map(String.init) ?? ""),
                                bytes(String(snapshot.version)), value,
                                bytes(snapshot.expiresAtMilliseconds.map(String.init) ?? "")], key: key)
        }
        guard let stored = reply.integer else { throw unexpected(reply, "the compare-and-set script") }
        return stored == 1
    }

    public func deleteSequence(tenant: String, name: String) throws(StoreError) -> Bool {
        let key = SharedTierKeys.sequence(tenant: tenant, name: name)
        let reply = try call { () throws(RedisError) in try client.execute([bytes("DEL"), key], key: key) }
        guard let deleted = reply.integer else { throw unexpected(reply, "DEL") }
        return deleted > 0
    }

    public func listSequences(tenant: String, namePrefix: String) throws(StoreError) -> [(name: String, snapshot: SharedSequenceSnapshot)] {
        let pattern = SharedTierKeys.sequencePattern(tenant: tenant, namePrefix: namePrefix)
        let perNode = try call { () throws(RedisError) in
            try client.onEveryNode { (run) throws(RedisError) -> [[UInt8]] in
                var keys: [[UInt8]] = []
                var cursor = "0"
                repeat {
                    let reply = try run([Array("SCAN".utf8), Array(cursor.utf8), Array("MATCH".utf8), pattern,
                                         Array("COUNT".utf8), Array("1000".utf8)])
                    guard let parts = reply.elements, parts.count == 2, let next = parts[0].text, let found = parts[1].elements else {
                        throw RedisError(.protocolViolation, "SCAN answered \(reply)")
                    }
                    keys += found.compactMap(\.bytes)
                    cursor = next
                } while cursor != "0"
                return keys
            }
        }
        var listed: [(name: String, snapshot: SharedSequenceSnapshot)] = []
        for key in Set(perNode.joined()) {
            guard let name = SharedTierKeys.name(inSequenceKey: key), name.hasPrefix(namePrefix),
                  let snapshot = try loadSequence(tenant: tenant, name: name) else { continue }
            listed.append((name, snapshot))
        }
        return listed
    }

    // MARK: - Segments

    public func storeSegments(model: String, _ segments: [(digest: [UInt8], bytes: [UInt8])], keepAlive: [[UInt8]],
                              expiresAtMilliseconds: Int64?) throws(StoreError) {
        let modelKey = models.keyPart(of: model)
        let identity = models.identity(of: model)
        let expiry: [UInt8] = expiresAtMilliseconds.map { bytes(String($0)) } ?? []
        func lifetime(_ key: [UInt8]) -> [[UInt8]] {
            // GT: a segment another sequence keeps longer (or forever) keeps its longer life.
            expiry.isEmpty ? [bytes("PERSIST"), key] : [bytes("PEXPIREAT"), key, expiry, bytes("GT")]
        }
        var commands: [(key: [UInt8], commands: [[[UInt8]]])] = []
        for segment in segments {
            let key = SharedTierKeys.segment(model: modelKey, digest: segment.digest)
            let value = SharedTierEnvelope.wrap(segment.bytes, kind: .segment, identity: identity, key: key)
            commands.append((key, [[bytes("SET"), key, value, bytes("NX")], lifetime(key)]))
        }
        for digest in keepAlive {
            let key = SharedTierKeys.segment(model: modelKey, digest: digest)
            commands.append((key, [lifetime(key)]))
        }
        let replies = try perKey(commands)
        if let failure = replies.first(where: { if case .error = $0 { true } else { false } }) {
            throw unexpected(failure, "storing segments")
        }
    }

    public func loadSegments(model: String, digests: [[UInt8]]) throws(StoreError) -> [[UInt8]] {
        let modelKey = models.keyPart(of: model)
        let identity = models.identity(of: model)
        let keys = digests.map { SharedTierKeys.segment(model: modelKey, digest: $0) }
        let replies = try perKey(keys.map { ($0, [[bytes("GET"), $0]]) })
        var segments: [[UInt8]] = []
        segments.reserveCapacity(digests.count)
        for (index, reply) in replies.enumerated() {
            let what = "segment \(SharedTierKeys.hex(digests[index]))"
            guard let value = reply.bytes else {
                if case .null = reply { throw StoreError(.dataLoss, "\(what) of model '\(model)' is missing from the shared tier") }
                throw unexpected(reply, "GET")
            }
            let (storedIdentity, payload) = try SharedTierEnvelope.unwrap(value, kind: .segment, key: keys[index], what: what)
            try requireIdentity(storedIdentity, expected: identity, what: what)
            // Not re-hashed: the CRC covers the key, which holds the digest, so bytes stored or
            // damaged under another address fail it; BLAKE2b of a 1 MiB segment would cost more
            // than its GET (docs/store.md, "Shared tier").
            segments.append(payload)
        }
        return segments
    }

    // MARK: - Prefixes

    public func storePrefixes(tenant: String, model: String, entries: [(hash: [UInt8], digest: [UInt8])]) throws(StoreError) -> Int {
        guard !entries.isEmpty else { return 0 }
        let modelKey = models.keyPart(of: model)
        let identity = models.identity(of: model)
        let commands = entries.map { entry -> [[UInt8]] in
            let key = SharedTierKeys.prefix(model: modelKey, tenant: tenant, hash: entry.hash)
            return [bytes("SET"), key, SharedTierEnvelope.wrap(entry.digest, kind: .prefix, identity: identity, key: key), bytes("NX")]
        }
        let slotKey = SharedTierKeys.prefix(model: modelKey, tenant: tenant, hash: entries[0].hash)
        let replies = try call { () throws(RedisError) in try client.pipeline(commands, key: slotKey) }
        var added = 0
        for reply in replies {
            switch reply {
            case .status: added += 1
            case .null: break
            default: throw unexpected(reply, "SET NX of a prefix entry")
            }
        }
        return added
    }

    public func loadPrefixes(tenant: String, model: String, hashes: [[UInt8]]) throws(StoreError) -> [[UInt8]] {
        guard !hashes.isEmpty else { return [] }
        let modelKey = models.keyPart(of: model)
        let identity = models.identity(of: model)
        let keys = hashes.map { SharedTierKeys.prefix(model: modelKey, tenant: tenant, hash: $0) }
        let reply = try call { () throws(RedisError) in try client.execute([bytes("MGET")] + keys, key: keys[0]) }
        guard let values = reply.elements, values.count == keys.count else { throw unexpected(reply, "MGET") }
        var digests: [[UInt8]] = []
        for (index, value) in values.enumerated() {
            guard let value = value.bytes else { break }
            let what = "prefix entry \(SharedTierKeys.hex(hashes[index]))"
            let (storedIdentity, digest) = try SharedTierEnvelope.unwrap(value, kind: .prefix, key: keys[index], what: what)
            try requireIdentity(storedIdentity, expected: identity, what: what)
            guard digest.count == 32 else { throw StoreError(.dataLoss, "\(what) in the shared tier is damaged") }
            digests.append(digest)
        }
        return digests
    }

    // MARK: - Helpers

    private func snapshot(_ record: [UInt8], key: [UInt8], version: String?, what: String) throws(StoreError) -> SharedSequenceSnapshot {
        let (storedIdentity, payload) = try SharedTierEnvelope.unwrap(record, kind: .sequence, key: key, what: what)
        let snapshot = try SharedSequenceSnapshot(encoded: payload, context: "\(what) in the shared tier")
        try requireIdentity(storedIdentity, expected: models.identity(of: snapshot.model), what: what)
        guard version == String(snapshot.version) else {
            throw StoreError(.dataLoss, "\(what) in the shared tier has version field \(version ?? "none") but its record says \(snapshot.version)")
        }
        return snapshot
    }

    private func requireIdentity(_ stored: String, expected: String, what: String) throws(StoreError) {
        guard stored == expected else {
            throw StoreError(.failedPrecondition, "\(what) in the shared tier was made by model checkpoint '\(stored)'; this daemon serves '\(expected)'; it is not served")
        }
    }

    /// Commands each routed by its own key: one pipeline on a single server, one call per key
    /// in a cluster (their keys are in different slots).
    private func perKey(_ commands: [(key: [UInt8], commands: [[[UInt8]]])]) throws(StoreError) -> [RedisReply] {
        try call { () throws(RedisError) in
            if !client.isCluster {
                return try client.pipeline(commands.flatMap(\.commands), key: nil)
            }
            var replies: [RedisReply] = []
            for entry in commands { replies += try client.pipeline(entry.commands, key: entry.key) }
            return replies
        }
    }

    private func call<Result>(_ body: () throws(RedisError) -> Result) throws(StoreError) -> Result {
        do {
            return try body()
        } catch {
            switch error.kind {
            case .unavailable: throw StoreError(.unavailable, "the shared tier (Redis) is unavailable: \(error.message)")
            case .server, .protocolViolation, .configuration: throw StoreError(.internal, "the shared tier (Redis) failed: \(error.message)")
            }
        }
    }

    private func unexpected(_ reply: RedisReply, _ what: String) -> StoreError {
        if case .error(let message) = reply {
            // A read-only replica after a failover, or a cluster that lost quorum: try later.
            if message.hasPrefix("READONLY") || message.hasPrefix("CLUSTERDOWN") || message.hasPrefix("LOADING")
                || message.hasPrefix("MASTERDOWN") || message.hasPrefix("TRYAGAIN") {
                return StoreError(.unavailable, "the shared tier (Redis) is unavailable: \(message)")
            }
            return StoreError(.internal, "the shared tier (Redis) refused \(what): \(message)")
        }
        return StoreError(.internal, "the shared tier (Redis) answered \(what) with \(reply)")
    }

    private func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }
}
