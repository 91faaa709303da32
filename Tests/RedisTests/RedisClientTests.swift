import Foundation
import LoMATestSupport
import Redis
import Testing

@Suite("the Redis client against a real redis-server")
struct RedisClientTests {
    @Test("key slots match Redis Cluster's CRC16 and hash tags")
    func slots() throws {
        // The reference values of the Redis Cluster specification and of CLUSTER KEYSLOT.
        #expect(RedisSlot.of(Array("123456789".utf8)) == 0x31C3 % 16384)
        #expect(RedisSlot.of(Array("foo".utf8)) == 12182)
        #expect(RedisSlot.of(Array("{user1000}.following".utf8)) == RedisSlot.of(Array("{user1000}.followers".utf8)))
        #expect(RedisSlot.of(Array("foo{}{bar}".utf8)) == RedisSlot.of(Array("foo{}{bar}".utf8)))
        #expect(RedisSlot.of(Array("{}x".utf8)) == RedisSlot.of(Array("{}x".utf8)))
        // CLUSTER KEYSLOT needs cluster support; a node without slots answers it.
        let redis = try RedisServerProcess(cluster: true)
        for key in ["foo", "lomad:v1:seq:{6c6f63616c.63686174}", "a{b}c", "{}x"] {
            let expected = Int(try redis.cli(["CLUSTER", "KEYSLOT", key]).stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(RedisSlot.of(Array(key.utf8)) == expected, "\(key)")
        }
    }

    @Test("URLs: host, port, database and credentials; rediss:// refused as unsupported TLS")
    func urls() throws {
        let plain = try RedisURL(parsing: "redis://10.0.0.5:7000/3")
        #expect(plain.node == RedisNode(host: "10.0.0.5", port: 7000) && plain.database == 3 && plain.password == nil)
        let secret = try RedisURL(parsing: "redis://lomad:p%40ss@cache/0")
        #expect(secret.user == "lomad" && secret.password == "p@ss" && secret.node.port == 6379)
        #expect(!secret.description.contains("p@ss"))
        #expect(throws: RedisError.self) { try RedisURL(parsing: "rediss://cache:6380/0") }
        do {
            _ = try RedisURL(parsing: "rediss://cache:6380/0")
        } catch {
            #expect(error.kind == .configuration && error.message.contains("TLS"))
        }
        #expect(throws: RedisError.self) { try RedisURL(parsing: "redis://cache:6379/x") }
        #expect(throws: RedisError.self) { try RedisURL(parsing: "http://cache") }
    }

    @Test("commands, pipelines and binary values; a dead server fails fast with unavailable, then recovers")
    func commandsAndFailures() throws {
        let redis = try RedisServerProcess()
        let client = RedisClient(configuration: RedisClientConfiguration(
            topology: .single(try RedisURL(parsing: redis.url)), timeout: .milliseconds(300),
            initialBackoff: .milliseconds(50), maximumBackoff: .milliseconds(200)))
        let value: [UInt8] = (0..<70_000).map { UInt8(truncatingIfNeeded: $0 &* 7) } + [0, 0, 13, 10]
        #expect(try client.execute([Array("SET".utf8), Array("k".utf8), value], key: Array("k".utf8)) == .status("OK"))
        #expect(try client.execute([Array("GET".utf8), Array("k".utf8)], key: Array("k".utf8)).bytes == value)
        let replies = try client.pipeline([[Array("INCR".utf8), Array("n".utf8)], [Array("INCR".utf8), Array("n".utf8)],
                                           [Array("GET".utf8), Array("missing".utf8)], [Array("NOSUCH".utf8)]], key: nil)
        #expect(replies[0] == .integer(1) && replies[1] == .integer(2) && replies[2] == .null)
        if case .error = replies[3] {} else { Issue.record("an unknown command answers an error reply, got \(replies[3])") }

        redis.kill()
        #expect { try client.execute([Array("PING".utf8)], key: nil) } throws: { ($0 as? RedisError)?.kind == .unavailable }
        #expect(!client.allNodesUp)
        try redis.start()
        var recovered = false
        let deadline = ContinuousClock.now + .seconds(5)
        while !recovered, ContinuousClock.now < deadline {
            recovered = (try? client.execute([Array("PING".utf8)], key: nil)) == .status("PONG")
            if !recovered { Thread.sleep(forTimeInterval: 0.05) }
        }
        #expect(recovered && client.allNodesUp)
        // appendonly + appendfsync always: what Redis acknowledged survived the SIGKILL.
        #expect(try client.execute([Array("GET".utf8), Array("k".utf8)], key: nil).bytes == value)
    }

    @Test("an ACL user with a password is authenticated; wrong credentials are a configuration error")
    func aclUser() throws {
        let redis = try RedisServerProcess(extraArguments: ["--requirepass", "admin-secret", "--user", "lomad", "on", ">p@ss:w", "~lomad:*", "+@all"],
                                           password: "admin-secret")
        func client(_ url: String) throws -> RedisClient {
            RedisClient(configuration: RedisClientConfiguration(topology: .single(try RedisURL(parsing: url)), timeout: .seconds(1)))
        }
        let user = try client("redis://lomad:p%40ss%3Aw@127.0.0.1:\(redis.port)/0")
        #expect(try user.execute([Array("SET".utf8), Array("lomad:k".utf8), Array("v".utf8)], key: nil) == .status("OK"))
        // The ACL applies: this user may not touch keys outside lomad:*.
        if case .error(let message) = try user.execute([Array("SET".utf8), Array("other".utf8), Array("v".utf8)], key: nil) {
            #expect(message.contains("NOPERM"))
        } else {
            Issue.record("a key outside the user's pattern was writable")
        }
        let wrong = try client("redis://lomad:nope@127.0.0.1:\(redis.port)/0")
        #expect { try wrong.execute([Array("PING".utf8)], key: nil) } throws: { ($0 as? RedisError)?.kind == .configuration }
        let anonymous = try client("redis://127.0.0.1:\(redis.port)/0")
        let reply = try anonymous.execute([Array("GET".utf8), Array("lomad:k".utf8)], key: nil)
        if case .error(let message) = reply { #expect(message.contains("NOAUTH")) } else { Issue.record("unauthenticated GET answered \(reply)") }
    }
}
