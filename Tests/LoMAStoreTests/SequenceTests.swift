import Foundation
import LoMAStore
import Testing

@Suite("Sequences")
struct SequenceTests {
    @Test("Append creates a sequence, later appends extend it, read returns every segment in order", arguments: StoreKind.allCases)
    func appendAndRead(kind: StoreKind) throws {
        let harness = try TestStore(kind)
        defer { harness.finish() }
        let store = harness.store
        let first = try TestSegments.run(from: 0, count: 2)
        let second = try TestSegments.run(from: 32, count: 3)

        let created = try store.append(sequence: "chat", model: TestSegments.model, segments: first, expectedSegmentCount: 0)
        #expect(created.segmentCount == 2)
        #expect(created.nextPosition == 32)
        let extended = try store.append(sequence: "chat", model: TestSegments.model, segments: second, expectedSegmentCount: 2)
        #expect(extended.segmentCount == 5)
        #expect(extended.memoryTokens == 5 * 4)
        #expect(extended.nextPosition == 80)
        #expect(extended.shape == TestSegments.shape)
        #expect(extended.tenant == CompressedMemoryStore.defaultTenant)
        #expect(try store.sequenceInfo(sequence: "chat") == extended)
        #expect(try store.read(sequence: "chat") == first + second)
    }

    @Test("Range reads return exactly the requested segment indices", arguments: StoreKind.allCases)
    func rangeReads(kind: StoreKind) throws {
        let harness = try TestStore(kind)
        defer { harness.finish() }
        let segments = try TestSegments.run(from: 0, count: 5)
        try harness.store.append(sequence: "s", model: TestSegments.model, segments: segments)
        #expect(try harness.store.read(sequence: "s", segments: 1..<4) == Array(segments[1..<4]))
        #expect(try harness.store.read(sequence: "s", segments: 4..<5) == [segments[4]])
        #expect(try harness.store.read(sequence: "s", segments: 2..<2).isEmpty)
        try expectRejected(.invalidArgument, mentioning: "outside sequence 's'", leavingUnchanged: harness.store) {
            _ = try harness.store.read(sequence: "s", segments: 3..<6)
        }
    }

    @Test("A gap between segments is allowed: positions only must not go backwards", arguments: StoreKind.allCases)
    func gapsAllowed(kind: StoreKind) throws {
        let harness = try TestStore(kind)
        defer { harness.finish() }
        try harness.store.append(sequence: "s", model: TestSegments.model, segments: [TestSegments.make(sourceStart: 100)])
        let info = try harness.store.append(sequence: "s", model: TestSegments.model, segments: [TestSegments.make(sourceStart: 500)])
        #expect(info.nextPosition == 516)
    }

    @Test("A fork shares the source's memory; appends to either side never show in the other", arguments: StoreKind.allCases)
    func forkIsCopyOnWrite(kind: StoreKind) throws {
        let harness = try TestStore(kind)
        defer { harness.finish() }
        let store = harness.store
        let base = try TestSegments.run(from: 0, count: 2)
        try store.append(sequence: "base", model: TestSegments.model, segments: base)
        let forked = try store.fork(source: "base", destination: "branch")
        #expect(forked.segmentCount == 2)
        #expect(forked.name == "branch")

        let branchOnly = try TestSegments.run(from: 32, count: 1, seed: 7)
        let baseOnly = try TestSegments.run(from: 32, count: 1, seed: 8)
        try store.append(sequence: "branch", model: TestSegments.model, segments: branchOnly, expectedSegmentCount: 2)
        try store.append(sequence: "base", model: TestSegments.model, segments: baseOnly, expectedSegmentCount: 2)
        #expect(try store.read(sequence: "base") == base + baseOnly)
        #expect(try store.read(sequence: "branch") == base + branchOnly)
        // Shared segments are stored once: 2 shared + 1 per side.
        if kind == .durable { #expect(store.statistics.durableSegments == 4) }
        #expect(store.statistics.ramSegments <= 4)

        // Deleting the source keeps the memory the fork still uses.
        try store.delete(sequence: "base")
        #expect(try store.read(sequence: "branch") == base + branchOnly)
        if kind == .durable { #expect(store.statistics.durableSegments == 3) }
    }

    @Test("Fork refuses an existing destination and an unknown source", arguments: StoreKind.allCases)
    func forkErrors(kind: StoreKind) throws {
        let harness = try TestStore(kind)
        defer { harness.finish() }
        let store = harness.store
        try store.append(sequence: "a", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 1))
        try store.append(sequence: "b", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 1, seed: 3))
        try expectRejected(.failedPrecondition, mentioning: "'b' already exists", leavingUnchanged: store) {
            try store.fork(source: "a", destination: "b")
        }
        try expectRejected(.failedPrecondition, mentioning: "'a' already exists", leavingUnchanged: store) {
            try store.fork(source: "a", destination: "a")
        }
        try expectRejected(.notFound, mentioning: "sequence 'missing' not found", leavingUnchanged: store) {
            try store.fork(source: "missing", destination: "c")
        }
    }

    @Test("Delete removes a sequence and frees segments nothing else uses", arguments: StoreKind.allCases)
    func deleteFrees(kind: StoreKind) throws {
        let harness = try TestStore(kind)
        defer { harness.finish() }
        let store = harness.store
        try store.append(sequence: "gone", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 3))
        try store.delete(sequence: "gone")
        try expectRejected(.notFound, mentioning: "'gone' not found", leavingUnchanged: store) {
            _ = try store.read(sequence: "gone")
        }
        try expectRejected(.notFound, mentioning: "'gone' not found", leavingUnchanged: store) {
            try store.delete(sequence: "gone")
        }
        let statistics = store.statistics
        #expect(statistics.ramBytes == 0)
        #expect(statistics.durableSegments == 0)
        #expect(statistics.sequences == 0)
        // The name can be used again from any position.
        let reborn = try store.append(sequence: "gone", model: "other-model", segments: [TestSegments.make(sourceStart: 0)])
        #expect(reborn.segmentCount == 1)
    }

    @Test("List filters by name prefix, sorts by name and keeps tenants apart", arguments: StoreKind.allCases)
    func listAndTenants(kind: StoreKind) throws {
        let harness = try TestStore(kind)
        defer { harness.finish() }
        let store = harness.store
        for name in ["user-2", "user-1", "system"] {
            try store.append(sequence: name, model: TestSegments.model, segments: TestSegments.run(from: 0, count: 1))
        }
        try store.append(tenant: "team-b", sequence: "user-1", model: TestSegments.model,
                         segments: TestSegments.run(from: 64, count: 2, seed: 9))
        #expect(try store.list(namePrefix: "user-").map(\.name) == ["user-1", "user-2"])
        #expect(try store.list().map(\.name) == ["system", "user-1", "user-2"])
        #expect(try store.list(tenant: "team-b").map(\.segmentCount) == [2])
        #expect(try store.list(tenant: "nobody").isEmpty)
        #expect(try store.sequenceInfo(sequence: "user-1").segmentCount == 1)
        try store.delete(tenant: "team-b", sequence: "user-1")
        #expect(try store.sequenceInfo(sequence: "user-1").segmentCount == 1)
    }
}
