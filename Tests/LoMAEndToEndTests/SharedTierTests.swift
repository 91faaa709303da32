import Foundation
import LoMAClient
import LoMAProtocol
import LoMATensorIO
import LoMATestSupport
import Testing

/// Two real lomad processes with separate local stores sharing one real redis-server (and a
/// 3-node Redis Cluster): they must behave as one store (docs/store.md, "Shared tier").
@Suite("two daemons sharing one Redis behave as one store")
struct SharedTierTests {
    typealias Setup = StoreOperationTests.Setup

    static func daemon(_ setup: Setup, _ redis: [String], extra: [String] = []) throws -> DaemonProcess {
        try DaemonProcess(arguments: ["--model", "m=\(setup.fixtureCase.modelDirectory.path)",
                                      "--redis-timeout-ms", "500"] + redis + extra)
    }

    static func client(_ daemon: DaemonProcess) throws -> LoMAClient {
        try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(60), retries: 0)
    }

    /// The stored memory of a sequence as bytes, to compare across daemons byte for byte.
    static func bytes(_ client: LoMAClient, _ sequence: String) async throws -> (keys: Data, values: Data, positions: [Int64], segments: UInt32) {
        let (memory, info) = try await client.readMemory(sequence: sequence, outputDType: .f32)
        let stored = try #require(memory)
        return (stored.keys.bytes, stored.values.bytes, stored.positions, info.segments)
    }

    @Test("a sequence compressed through one daemon is read, extended, forked and deleted through the other byte-identically")
    func readExtendForkDelete() async throws {
        let setup = try Setup()
        let redis = try RedisServerProcess()
        let first = try Self.daemon(setup, ["--redis-url", redis.url])
        let second = try Self.daemon(setup, ["--redis-url", redis.url])
        let one = try Self.client(first), two = try Self.client(second)

        _ = try await setup.compress(0, into: "chat", client: one)
        let written = try await Self.bytes(one, "chat")
        let readThrough = try await Self.bytes(two, "chat")
        #expect(readThrough.keys == written.keys && readThrough.values == written.values)
        #expect(readThrough.positions == written.positions && readThrough.segments == 1)

        // Extended through the second daemon: the first sees the new segment (its local copy
        // is stale and is fetched again), byte-identical on both.
        _ = try await setup.compress(1, into: "chat", client: two)
        let extended = try await Self.bytes(one, "chat")
        #expect(extended.segments == 2)
        let extendedOnTwo = try await Self.bytes(two, "chat")
        #expect(extended.keys == extendedOnTwo.keys && extended.values == extendedOnTwo.values)
        #expect(extended.positions == extendedOnTwo.positions)
        // The same as one daemon alone produces.
        let alone = try DaemonProcess(arguments: ["--model", "m=\(setup.fixtureCase.modelDirectory.path)"])
        let solo = try Self.client(alone)
        _ = try await setup.compress(0, into: "chat", client: solo)
        _ = try await setup.compress(1, into: "chat", client: solo)
        let reference = try await Self.bytes(solo, "chat")
        #expect(reference.keys == extended.keys && reference.values == extended.values)

        try await two.forkSequence(source: "chat", destination: "branch")
        #expect(try await one.listSequences().map(\.name) == ["branch", "chat"])
        let branch = try await Self.bytes(one, "branch")
        #expect(branch.keys == extended.keys && branch.segments == 2)
        await #expect { try await one.forkSequence(source: "chat", destination: "branch") }
            throws: { ($0 as? StatusError)?.code == .failedPrecondition }

        try await one.deleteSequence("branch")
        await #expect { try await two.readMemory(sequence: "branch") } throws: { ($0 as? StatusError)?.code == .notFound }
        #expect(try await two.listSequences().map(\.name) == ["chat"])
        let shown = try CommandRun.run("lomactl", ["stats", "--endpoint", second.endpoint])
        #expect(shown.stdout.contains("shared: \(redis.url) up"), "\(shown.stdout)")
        #expect((try await two.stats()).store.sharedReadThroughs >= 1)

        // A prefix published through one daemon is found through the other.
        let memory = try await one.compress(keys: setup.keys, values: setup.values, options: CompressOptions(model: "m"))
        let chunks = setup.fixtureCase.description.segments
        let hashes = (0..<chunks).map { chunk in (0..<32).map { UInt8(truncatingIfNeeded: chunk * 17 + $0) } }
        let keys = TensorPayload(bytes: memory.keys.bytes, dtype: memory.keys.dtype, shape: memory.keys.shape)
        let values = TensorPayload(bytes: memory.values.bytes, dtype: memory.values.dtype, shape: memory.values.shape)
        #expect(try await one.publishPrefix(model: "m", chunkHashes: hashes, keys: keys, values: values,
                                            positions: memory.positions) == chunks)
        let found = try await two.lookupPrefix(model: "m", chunkHashes: hashes, outputDType: .f32)
        #expect(found.matchedChunks == chunks)
        #expect(found.memory?.positions == memory.positions)
        #expect(found.memory?.keys.bytes == (try await one.lookupPrefix(model: "m", chunkHashes: hashes, outputDType: .f32)).memory?.keys.bytes)
        #expect(try await two.publishPrefix(model: "m", chunkHashes: hashes, keys: keys, values: values,
                                            positions: memory.positions) == 0)
    }

    @Test("concurrent appends from both daemons to one sequence never lose or interleave a segment")
    func concurrentAppends() async throws {
        let setup = try Setup()
        let redis = try RedisServerProcess()
        let first = try Self.daemon(setup, ["--redis-url", redis.url])
        let second = try Self.daemon(setup, ["--redis-url", redis.url])
        let clients = [try Self.client(first), try Self.client(second)]
        _ = try await setup.compress(0, into: "race", client: clients[0])
        var acknowledged = 1
        for round in 0..<6 {
            let outcomes = await withTaskGroup(of: StatusError?.self) { group in
                for client in clients {
                    group.addTask {
                        do {
                            _ = try await setup.compress(1 + round % (setup.fixtureCase.description.segments - 1), into: "race", client: client)
                            return nil
                        } catch {
                            return (error as? StatusError) ?? StatusError.internalError("\(error)")
                        }
                    }
                }
                return await group.reduce(into: [StatusError?]()) { $0.append($1) }
            }
            #expect(outcomes.contains { $0 == nil })
            // The loser of a race is told so (and may retry); it is never acknowledged and lost.
            for case let failure? in outcomes {
                #expect(failure.code == .failedPrecondition && "\(failure)".contains("changed concurrently"), "\(failure)")
            }
            acknowledged += outcomes.filter { $0 == nil }.count
        }
        let one = try await Self.bytes(clients[0], "race")
        let two = try await Self.bytes(clients[1], "race")
        // Every acknowledged append is there, once, and both daemons read the same bytes.
        #expect(Int(one.segments) == acknowledged)
        #expect(one.keys == two.keys && one.values == two.values && one.positions == two.positions)
        #expect(zip(one.positions, one.positions.dropFirst()).allSatisfy { $0 < $1 })
    }

    @Test("Redis killed and restarted mid-load: acknowledged writes survive, local data keeps serving, writes answer unavailable, then recover")
    func redisKilledAndRestarted() async throws {
        let setup = try Setup()
        let redis = try RedisServerProcess()
        let first = try Self.daemon(setup, ["--redis-url", redis.url], extra: ["--metrics-listen", "127.0.0.1:0"])
        let one = try Self.client(first)
        let metricsPort = try ReliabilityDamagedStoreTests.metricsPort(first)
        func metric(_ series: String) throws -> Double? {
            ReliabilityDamagedStoreTests.sample(try ServiceHTTP.get(port: metricsPort, path: "/metrics").body, series)
        }
        _ = try await setup.compress(0, into: "kept", client: one)
        #expect(try metric("lomad_shared_tier_up") == 1)
        let before = try await Self.bytes(one, "kept")

        redis.kill()
        // Local data keeps serving; a write that needs the shared tier is refused, not acknowledged.
        let during = try await Self.bytes(one, "kept")
        #expect(during.keys == before.keys)
        await #expect { try await setup.compress(0, into: "lost", client: one) }
            throws: { ($0 as? StatusError)?.code == .unavailable && "\($0)".contains("shared tier") }
        #expect(first.log.contains("shared tier node down"))
        let down = try await one.stats().store
        #expect(try metric("lomad_shared_tier_up") == 0)
        #expect(try metric("lomad_shared_tier_errors_total") ?? 0 >= 1)
        #expect(down.sharedTier == redis.url && !down.sharedTierUp && down.sharedUnavailableWrites >= 1 && down.sharedLocalFallbacks >= 1)

        try redis.start()
        var recovered = false
        let deadline = ContinuousClock.now + .seconds(15)
        while !recovered, ContinuousClock.now < deadline {
            recovered = (try? await setup.compress(0, into: "after", client: one)) != nil
            if !recovered { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(recovered)
        // The write acknowledged before the kill survived Redis's restart (append-only file,
        // fsync per write): a fresh daemon with an empty local store reads it from Redis.
        let second = try Self.daemon(setup, ["--redis-url", redis.url])
        let fresh = try await Self.bytes(try Self.client(second), "kept")
        #expect(fresh.keys == before.keys && fresh.values == before.values)
        await #expect { try await Self.client(second).readMemory(sequence: "lost") }
            throws: { ($0 as? StatusError)?.code == .notFound }
        #expect(first.log.contains("shared tier node up"))
        #expect(try await one.stats().store.sharedTierUp)
        #expect(try metric("lomad_shared_tier_up") == 1)
    }

    @Test("damaged segments and memory of another checkpoint under the same model name are refused, not served")
    func damagedAndForeignRefused() async throws {
        let setup = try Setup()
        let redis = try RedisServerProcess()
        let first = try Self.daemon(setup, ["--redis-url", redis.url])
        _ = try await setup.compress(0, into: "chat", client: try Self.client(first))

        // The same name "m" for a checkpoint whose files differ: its daemon must not read "chat".
        let scratch = try TemporaryDirectory("foreign-model")
        defer { scratch.remove() }
        let copy = scratch.url.appendingPathComponent("m")
        try FileManager.default.copyItem(at: setup.fixtureCase.modelDirectory, to: copy)
        let config = copy.appendingPathComponent("config.json")
        try (try String(contentsOf: config, encoding: .utf8) + "\n").write(to: config, atomically: true, encoding: .utf8)
        let foreign = try DaemonProcess(arguments: ["--model", "m=\(copy.path)", "--redis-url", redis.url])
        await #expect { try await Self.client(foreign).readMemory(sequence: "chat") }
            throws: { ($0 as? StatusError)?.code == .failedPrecondition && "\($0)".contains("checkpoint") }

        // One flipped byte in the segment's value in Redis: a daemon without a local copy refuses it.
        let segmentKey = try #require(try redis.cli(["--scan", "--pattern", "lomad:v1:seg:*"]).stdout
            .split(separator: "\n").first.map(String.init))
        #expect(try redis.cli(["SETRANGE", segmentKey, "200", "X"]).status == 0)
        let second = try Self.daemon(setup, ["--redis-url", redis.url])
        await #expect { try await Self.client(second).readMemory(sequence: "chat") }
            throws: { ($0 as? StatusError)?.code == .dataLoss }
    }

    @Test("rediss:// is refused with a clear error: this build has no TLS")
    func tlsRefused() throws {
        let run = try CommandRun.run("lomad", ["serve", "--redis-url", "rediss://127.0.0.1:6380/0", "--print-config"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("TLS"))
    }
}

@Suite("two daemons sharing one Redis Cluster behave as one store")
struct SharedTierClusterTests {
    typealias Setup = StoreOperationTests.Setup

    /// The Redis key of a sequence of the default tenant (docs/store.md, "Key schema").
    static func sequenceKey(_ name: String) -> String {
        let hex = { (text: String) in text.utf8.map { String(format: "%02x", $0) }.joined() }
        return "lomad:v1:seq:{\(hex("local")).\(hex(name))}"
    }

    @Test("a 3-node cluster: appends through both daemons across a slot migration (ASK, then MOVED) and a node restart")
    func clusterMigrationAndRestart() async throws {
        let setup = try Setup()
        let cluster = try RedisClusterProcesses()
        let first = try SharedTierTests.daemon(setup, ["--redis-cluster", cluster.seeds])
        let second = try SharedTierTests.daemon(setup, ["--redis-cluster", cluster.seeds])
        let one = try SharedTierTests.client(first), two = try SharedTierTests.client(second)
        // Later segments only: segment 0 carries the case's explicit start position.
        let later = { (count: Int) in 1 + count % (setup.fixtureCase.description.segments - 1) }

        // Sequences spread over the nodes, written through both daemons.
        for index in 0..<6 {
            _ = try await setup.compress(0, into: "spread-\(index)", client: index % 2 == 0 ? one : two)
        }
        // The slot of "moving" migrates to another node while both daemons append to it.
        _ = try await setup.compress(0, into: "moving", client: one)
        let slot = try cluster.slot(of: Self.sequenceKey("moving"))
        let source = try cluster.owner(ofSlot: slot)
        let target = try #require(cluster.nodes.first { $0.port != source.port })
        var appended = 1
        try await cluster.migrate(slot: slot, to: target) {
            _ = try await setup.compress(later(appended), into: "moving", client: appended % 2 == 0 ? one : two)
            appended += 1
        }
        _ = try await setup.compress(later(appended), into: "moving", client: two)
        appended += 1
        #expect(try cluster.owner(ofSlot: slot).port == target.port)
        let viaOne = try await SharedTierTests.bytes(one, "moving")
        let viaTwo = try await SharedTierTests.bytes(two, "moving")
        #expect(Int(viaOne.segments) == appended)
        #expect(viaOne.keys == viaTwo.keys && viaOne.values == viaTwo.values && viaOne.positions == viaTwo.positions)

        // A node restarts (its append-only file keeps what it acknowledged): reads of what it
        // holds come back, and writes work again once the cluster is healthy.
        let restarted = cluster.nodes[1]
        let before = try await SharedTierTests.bytes(one, "spread-1")
        restarted.kill()
        try restarted.start()
        try cluster.waitUntilHealthy()
        var written = false
        let deadline = ContinuousClock.now + .seconds(15)
        while !written, ContinuousClock.now < deadline {
            written = (try? await setup.compress(0, into: "after-restart", client: two)) != nil
            if !written { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(written)
        let third = try SharedTierTests.daemon(setup, ["--redis-cluster", cluster.seeds])
        let fresh = try SharedTierTests.client(third)
        for index in 0..<6 {
            #expect(try await SharedTierTests.bytes(fresh, "spread-\(index)").segments == 1)
        }
        let after = try await SharedTierTests.bytes(fresh, "spread-1")
        #expect(after.keys == before.keys && after.values == before.values)
        #expect(try await fresh.listSequences().count == 8)
    }
}
