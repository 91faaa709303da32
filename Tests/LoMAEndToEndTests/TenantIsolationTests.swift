import Foundation
import LoMAClient
import LoMAProtocol
import LoMAStore
import LoMATestSupport
import Testing

@Suite("Tenant isolation and quotas through a real lomad")
struct TenantIsolationTests {
    /// Expects `body` to fail with a status of `code`.
    private func expectStatus(_ code: Loma_V1_StatusCode, _ what: String, _ body: () async throws -> Void,
                              sourceLocation: SourceLocation = #_sourceLocation) async {
        do {
            try await body()
            Issue.record("\(what) succeeded; expected \(code)", sourceLocation: sourceLocation)
        } catch let error as StatusError {
            #expect(error.code == code, "\(what): \(error)", sourceLocation: sourceLocation)
        } catch {
            Issue.record("\(what): \(error)", sourceLocation: sourceLocation)
        }
    }

    private func payload(_ tensor: ReceivedTensor) -> TensorPayload {
        TensorPayload(bytes: tensor.bytes, dtype: tensor.dtype, shape: tensor.shape, layout: tensor.layout)
    }

    private static func hashes(_ count: Int) -> [[UInt8]] {
        (0..<count).map { index in (0..<32).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ index) } }
    }

    @Test("No operation of one tenant reads, lists, forks, deletes, extends or finds by prefix another tenant's data")
    func everyOperationStaysInItsTenant() async throws {
        let setup = try AuthenticatedDaemon(clients: ["alice", "bob"], tenants: [
            .init(name: "alice", clients: ["alice"]), .init(name: "bob", clients: ["bob"]),
        ])
        let alice = try setup.curveClient("alice")
        let geometry = try await ReliabilityModelGeometry.of(alice)
        for index in 0..<2 {
            let (keys, values) = geometry.segment(seed: UInt64(index + 1))
            _ = try await alice.compress(keys: keys, values: values, options: CompressOptions(
                model: "m", sequence: "notes", position: UInt64(index * geometry.segmentLength)))
        }
        let (prefixKeys, prefixValues) = geometry.segment(segments: 2, seed: 40)
        let prefixMemory = try await alice.compress(keys: prefixKeys, values: prefixValues, options: CompressOptions(model: "m"))
        let hashes = Self.hashes(2)
        #expect(try await alice.publishPrefix(model: "m", chunkHashes: hashes, keys: payload(prefixMemory.keys),
                                              values: payload(prefixMemory.values)) == 2)
        let aliceBefore = try await ReliabilityStoreDigest.take(alice)
        let aliceLookup = try await alice.lookupPrefix(model: "m", chunkHashes: hashes)

        let intruders = [("bob", try setup.curveClient("bob")), ("local (ipc)", try setup.ipcClient())]
        for (name, intruder) in intruders {
            await expectStatus(.notFound, "\(name) read_memory") { _ = try await intruder.readMemory(sequence: "notes") }
            #expect(try await intruder.listSequences().isEmpty, "\(name) lists alice's sequences")
            #expect(try await intruder.listSequences(namePrefix: "no").isEmpty)
            await expectStatus(.notFound, "\(name) fork") { try await intruder.forkSequence(source: "notes", destination: "stolen") }
            await expectStatus(.notFound, "\(name) delete") { try await intruder.deleteSequence("notes") }
            let lookup = try await intruder.lookupPrefix(model: "m", chunkHashes: hashes)
            #expect(lookup.matchedChunks == 0 && lookup.memory == nil, "\(name) found alice's prefix")

            // The same names in the intruder's own namespace are new: its compress starts its own
            // sequence instead of extending alice's, and its publish stores its own chunks.
            let (keys, values) = geometry.segment(seed: 99)
            let own = try await intruder.compress(keys: keys, values: values,
                                                  options: CompressOptions(model: "m", sequence: "notes", position: 0))
            #expect(own.segments == 1)
            #expect(try await intruder.readMemory(sequence: "notes").sequence.segments == 1)
            #expect(try await intruder.publishPrefix(model: "m", chunkHashes: Array(hashes.prefix(1)), keys: payload(own.keys),
                                                     values: payload(own.values), positions: own.positions) == 1)
            #expect(try await intruder.lookupPrefix(model: "m", chunkHashes: hashes).memory?.keys.bytes == own.keys.bytes)
            #expect(try await intruder.listSequences().map(\.name) == ["notes"])
        }

        #expect(try await ReliabilityStoreDigest.take(alice) == aliceBefore, "another tenant changed what alice sees")
        let aliceAfter = try await alice.lookupPrefix(model: "m", chunkHashes: hashes)
        #expect(aliceAfter.matchedChunks == 2)
        #expect(aliceAfter.memory?.keys.bytes == aliceLookup.memory?.keys.bytes)
        #expect(try await alice.readMemory(sequence: "notes").sequence.segments == 2)
    }

    @Test("A tenant past its quota gets resource_exhausted naming it; others are unaffected; a delete makes room")
    func quotas() async throws {
        let setup = try AuthenticatedDaemon(
            clients: ["alice", "bob"],
            tenants: [.init(name: "alice", clients: ["alice"], quotaBytes: 0), .init(name: "bob", clients: ["bob"])],
            arguments: ["--set", "store.tenant_quota_bytes=1"])
        let alice = try setup.curveClient("alice"), bob = try setup.curveClient("bob"), local = try setup.ipcClient()
        let geometry = try await ReliabilityModelGeometry.of(alice)
        let (keys, values) = geometry.segment(seed: 5)
        func write(_ client: LoMAClient, _ sequence: String, position: Int) async throws {
            _ = try await client.compress(keys: keys, values: values,
                                          options: CompressOptions(model: "m", sequence: sequence, position: UInt64(position)))
        }

        // store.tenant_quota_bytes = 1 applies to tenants without their own quota (bob, local);
        // alice's quota_bytes = 0 means no limit.
        await expectStatus(.resourceExhausted, "local past the default quota") { try await write(local, "s", position: 0) }
        for index in 0..<3 { try await write(alice, "s", position: index * geometry.segmentLength) }
        let aliceStats = try await alice.stats().tenant
        #expect(aliceStats.name == "alice" && aliceStats.quotaBytes == 0 && aliceStats.bytes > 0)
        let segmentBytes = Int(aliceStats.bytes) / 3

        // Give bob room for one segment and a half, by reloading the clients file.
        try setup.writeClientsFile([.init(name: "alice", clients: ["alice"], quotaBytes: 0),
                                    .init(name: "bob", clients: ["bob"], quotaBytes: segmentBytes * 3 / 2)])
        #expect(try setup.daemon.reload())
        try await write(bob, "a", position: 0)
        let bobStats = try await bob.stats().tenant
        #expect(bobStats.bytes == UInt64(segmentBytes) && bobStats.quotaBytes == UInt64(segmentBytes * 3 / 2))
        let bobBefore = try await ReliabilityStoreDigest.take(bob)
        do {
            try await write(bob, "a", position: geometry.segmentLength)
            Issue.record("bob's second segment passed his quota")
        } catch let error as StatusError {
            #expect(error.code == .resourceExhausted)
            #expect(error.message.contains("tenant 'bob' quota of \(segmentBytes * 3 / 2) bytes"), "\(error.message)")
        }
        #expect(try await ReliabilityStoreDigest.take(bob) == bobBefore, "a refused write changed bob's data")

        try await write(alice, "s", position: 3 * geometry.segmentLength)
        try await bob.deleteSequence("a")
        #expect(try await bob.stats().tenant.bytes == 0)
        try await write(bob, "b", position: 0)
    }
}
