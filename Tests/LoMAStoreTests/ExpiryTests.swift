import Foundation
import LoMAStore
import Testing

@Suite("Time to live")
struct ExpiryTests {
    private static let ttl = Duration.milliseconds(300)

    @Test("An expired sequence behaves as absent, can be recreated and is purged", arguments: StoreKind.allCases)
    func expiry(kind: StoreKind) throws {
        let harness = try TestStore(kind)
        defer { harness.finish() }
        let store = harness.store
        let created = try store.append(sequence: "short", model: TestSegments.model,
                                       segments: TestSegments.run(from: 0, count: 2), ttl: Self.ttl)
        #expect(created.expiresAt != nil)
        try store.append(sequence: "long", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 1),
                         ttl: .seconds(3600))
        try store.append(sequence: "forever", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 1))
        #expect(try store.sequenceInfo(sequence: "forever").expiresAt == nil)

        harness.clock.advance(by: Self.ttl * 2)

        try expectRejected(.notFound, mentioning: "'short' not found", leavingUnchanged: store) {
            _ = try store.read(sequence: "short")
        }
        #expect(try store.list().map(\.name) == ["forever", "long"])
        // An expired name is free again; the new sequence does not inherit the old memory.
        let recreated = try store.append(sequence: "short", model: "another-model", segments: [TestSegments.make(sourceStart: 0)])
        #expect(recreated.segmentCount == 1)
        #expect(recreated.expiresAt == nil)
        #expect(store.statistics.expiredPurged == 1)
    }

    @Test("purgeExpired removes expired sequences and their memory", arguments: StoreKind.allCases)
    func purge(kind: StoreKind) throws {
        let harness = try TestStore(kind)
        defer { harness.finish() }
        let store = harness.store
        try store.append(sequence: "a", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 2), ttl: Self.ttl)
        try store.fork(source: "a", destination: "b")
        try store.append(sequence: "kept", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 1, seed: 5))
        let digestOfLiveContent = try TestStore(kind).withFinish { other in
            try other.store.append(sequence: "kept", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 1, seed: 5))
            return try other.store.digest()
        }
        harness.clock.advance(by: Self.ttl * 2)
        #expect(try store.digest() == digestOfLiveContent)
        #expect(try store.purgeExpired() == 2)
        #expect(try store.purgeExpired() == 0)
        #expect(try store.digest() == digestOfLiveContent)
        let statistics = store.statistics
        #expect(statistics.sequences == 1)
        #expect(statistics.expiredPurged == 2)
        #expect(statistics.ramSegments <= 1)
        if kind == .durable { #expect(statistics.durableSegments == 1) }
    }

    @Test("An append with a TTL refreshes the expiry; without one it keeps it", arguments: StoreKind.allCases)
    func refresh(kind: StoreKind) throws {
        let harness = try TestStore(kind)
        defer { harness.finish() }
        let store = harness.store
        let first = try store.append(sequence: "s", model: TestSegments.model, segments: [TestSegments.make(sourceStart: 0)],
                                     ttl: .seconds(60))
        let kept = try store.append(sequence: "s", model: TestSegments.model, segments: [TestSegments.make(sourceStart: 16)])
        #expect(kept.expiresAt == first.expiresAt)
        let refreshed = try store.append(sequence: "s", model: TestSegments.model, segments: [TestSegments.make(sourceStart: 32)],
                                         ttl: .seconds(7200))
        let firstExpiry = try #require(first.expiresAt)
        let refreshedExpiry = try #require(refreshed.expiresAt)
        #expect(refreshedExpiry > firstExpiry)
        #expect(try store.fork(source: "s", destination: "f").expiresAt == refreshed.expiresAt)
    }
}

extension TestStore {
    /// Runs `body` with this store and cleans it up afterwards.
    func withFinish<Result>(_ body: (TestStore) throws -> Result) throws -> Result {
        defer { finish() }
        return try body(self)
    }
}
