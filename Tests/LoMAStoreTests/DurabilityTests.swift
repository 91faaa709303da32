import Foundation
@testable import LoMAStore
import Testing

@Suite("Durability")
struct DurabilityTests {
    @Test("A restart restores every acknowledged write: sequences, forks, expiry, prefixes, deletes")
    func restartRestoresEverything() throws {
        let harness = try TestStore(.durable, ramBudgetBytes: try TestSegments.encodedBytes() * 2)
        defer { harness.finish() }
        var store = harness.store
        let hashes = TestSegments.chunkHashes(2)
        try store.append(sequence: "a", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 2))
        try store.append(sequence: "a", model: TestSegments.model, segments: TestSegments.run(from: 32, count: 1))
        try store.fork(source: "a", destination: "b")
        try store.append(sequence: "b", model: TestSegments.model, segments: TestSegments.run(from: 48, count: 1, seed: 3))
        try store.append(tenant: "team-b", sequence: "a", model: "m2", segments: TestSegments.run(from: 0, count: 1, seed: 4),
                         ttl: .seconds(3600))
        try store.append(sequence: "deleted", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 1, seed: 5))
        try store.delete(sequence: "deleted")
        try store.publishPrefix(model: TestSegments.model, chunkHashes: hashes, segments: TestSegments.run(from: 0, count: 2, seed: 6))

        let digest = try store.digest()
        let infos = try store.list() + store.list(tenant: "team-b")
        let contents = try infos.map { try store.read(tenant: $0.tenant, sequence: $0.name) }
        let statistics = store.statistics

        try harness.reopen()
        store = harness.store
        #expect(try store.digest() == digest)
        #expect(try store.list() + store.list(tenant: "team-b") == infos)
        #expect(try infos.map { try store.read(tenant: $0.tenant, sequence: $0.name) } == contents)
        #expect(try store.lookupPrefix(model: TestSegments.model, chunkHashes: hashes) == TestSegments.run(from: 0, count: 2, seed: 6))
        let restored = store.statistics
        #expect(restored.durableSegments == statistics.durableSegments)
        #expect(restored.durableSegmentBytes == statistics.durableSegmentBytes)
        #expect(restored.sequences == 3)
        #expect(restored.prefixEntries == 2)
        // Appending after the restart continues where the sequence left off.
        try expectRejected(.failedPrecondition, mentioning: "position goes backwards", leavingUnchanged: store) {
            try store.append(sequence: "b", model: TestSegments.model, segments: [TestSegments.make(sourceStart: 32)])
        }
        #expect(try store.append(sequence: "b", model: TestSegments.model, segments: [TestSegments.make(sourceStart: 64)],
                                 expectedSegmentCount: 4).segmentCount == 5)
    }

    @Test("A failed write leaves nothing on disk: a restart after it shows the state before it")
    func failedWriteLeavesNothing() throws {
        let harness = try TestStore(.durable)
        defer { harness.finish() }
        try harness.store.append(sequence: "s", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 2))
        let digest = try harness.store.digest()
        #expect(throws: StoreError.self) {
            try harness.store.append(sequence: "s", model: TestSegments.model,
                                     segments: [TestSegments.make(sourceStart: 32), TestSegments.make(sourceStart: 0)])
        }
        try harness.reopen()
        #expect(try harness.store.digest() == digest)
    }

    @Test("The same directory cannot be opened twice in one process")
    func singleOpen() throws {
        let harness = try TestStore(.durable)
        defer { harness.finish() }
        let configuration = StoreConfiguration(mode: .durable(directory: harness.directory))
        #expect(throws: StoreError.self) { _ = try CompressedMemoryStore(configuration: configuration) }
        harness.store.close()
        let reopened = try CompressedMemoryStore(configuration: configuration)
        reopened.close()
    }

    @Test("A path that cannot hold a store directory is an internal error naming it")
    func badDirectory() throws {
        let harness = try TestStore(.durable)
        defer { harness.finish() }
        let file = harness.directory.appendingPathComponent("not-a-directory")
        try Data("x".utf8).write(to: file)
        let error = #expect(throws: StoreError.self) {
            _ = try CompressedMemoryStore(configuration: StoreConfiguration(mode: .durable(directory: file)))
        }
        #expect(error?.kind == .internal)
        #expect(error?.message.contains(file.path) == true)
    }

    @Test("Corrupt segment bytes are refused with an error naming the segment and the field")
    func corruptSegment() throws {
        let encoded = SegmentCodec.encode(try TestSegments.make(sourceStart: 0), quantization: .none)
        for (bytes, mention) in [(Array(encoded.dropLast(3)), "segment 7 is corrupt: values needs"),
                                 (encoded + [0], "segment 7 is corrupt: 1 unexpected trailing bytes"),
                                 ([9] + encoded.dropFirst(), "segment 7 has format version 9")] {
            let error = #expect(throws: StoreError.self) { _ = try SegmentCodec.decode(bytes, context: "segment 7") }
            #expect(error?.kind == .internal)
            #expect(error?.message.contains(mention) == true, "\(String(describing: error))")
        }
    }
}
