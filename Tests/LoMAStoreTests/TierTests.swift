import Foundation
import LoMAStore
import Testing

@Suite("RAM and durable tiers")
struct TierTests {
    @Test("Memory mode: a write the RAM budget cannot hold is resourceExhausted and changes nothing")
    func memoryBudgetIsHardCap() throws {
        let segmentBytes = try TestSegments.encodedBytes()
        let harness = try TestStore(.memory, ramBudgetBytes: segmentBytes * 5 / 2)
        defer { harness.finish() }
        let store = harness.store
        try store.append(sequence: "a", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 2))
        try expectRejected(.resourceExhausted, mentioning: "RAM budget of \(segmentBytes * 5 / 2) bytes cannot hold this write",
                           leavingUnchanged: store) {
            try store.append(sequence: "b", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 1, seed: 4))
        }
        #expect(try store.read(sequence: "a") == TestSegments.run(from: 0, count: 2))
        #expect(store.statistics.ramEvictions == 0)
        #expect(store.statistics.ramBytes == 2 * segmentBytes)
        // A fork costs no segment bytes, and deleting frees room for the next write.
        try store.fork(source: "a", destination: "copy")
        try store.delete(sequence: "a")
        try store.delete(sequence: "copy")
        try store.append(sequence: "b", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 2, seed: 4))
    }

    @Test("Memory mode: expired sequences are dropped to make room before a write is refused")
    func memoryBudgetPurgesExpired() throws {
        let segmentBytes = try TestSegments.encodedBytes()
        let harness = try TestStore(.memory, ramBudgetBytes: segmentBytes * 2)
        defer { harness.finish() }
        let store = harness.store
        try store.append(sequence: "old", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 2),
                         ttl: .milliseconds(200))
        harness.clock.advance(by: .milliseconds(400))
        try store.append(sequence: "new", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 2, seed: 6))
        #expect(store.statistics.expiredPurged == 1)
        #expect(try store.list().map(\.name) == ["new"])
    }

    @Test("Durable mode: the RAM tier evicts least recently used segments to disk and reads them back")
    func durableEvictionAndReadBack() throws {
        let segmentBytes = try TestSegments.encodedBytes()
        let budget = segmentBytes * 5 / 2
        let harness = try TestStore(.durable, ramBudgetBytes: budget)
        defer { harness.finish() }
        let store = harness.store
        let first = try TestSegments.run(from: 0, count: 3, seed: 1)
        let second = try TestSegments.run(from: 0, count: 3, seed: 2)
        try store.append(sequence: "first", model: TestSegments.model, segments: first)
        try store.append(sequence: "second", model: TestSegments.model, segments: second)

        let afterWrites = store.statistics
        #expect(afterWrites.ramBytes <= budget)
        #expect(afterWrites.ramSegments == 2)
        #expect(afterWrites.ramEvictions == 4)
        #expect(afterWrites.durableSegments == 6)
        #expect(afterWrites.durableSegmentBytes == 6 * segmentBytes)
        #expect(afterWrites.durableFileBytes >= afterWrites.durableSegmentBytes)

        // "first" was evicted entirely: reading it decodes from LMDB.
        #expect(try store.read(sequence: "first") == first)
        #expect(try store.read(sequence: "second") == second)
        let afterReads = store.statistics
        #expect(afterReads.ramMisses >= 3)
        #expect(afterReads.ramBytes <= budget)

        // The two most recently read segments are now cached and served from RAM.
        let hitsBefore = afterReads.ramHits
        #expect(try store.read(sequence: "second", segments: 1..<3) == Array(second[1..<3]))
        #expect(store.statistics.ramHits == hitsBefore + 2)
    }

    @Test("Durable mode: a segment larger than the whole RAM budget is stored and read, just never cached")
    func durableOversizedSegment() throws {
        let harness = try TestStore(.durable, ramBudgetBytes: 64)
        defer { harness.finish() }
        let segments = try TestSegments.run(from: 0, count: 2)
        try harness.store.append(sequence: "big", model: TestSegments.model, segments: segments)
        #expect(try harness.store.read(sequence: "big") == segments)
        #expect(harness.store.statistics.ramBytes == 0)
    }

    @Test("Durable mode: a full LMDB map is resourceExhausted, keeps every earlier write and survives a restart")
    func durableMapFull() throws {
        let harness = try TestStore(.durable, ramBudgetBytes: 1 << 20, mapSizeBytes: 1 << 20)
        defer { harness.finish() }
        let big = MemoryShape(layers: 4, kvHeads: 4, headDim: 64)
        var appended: [MemorySegment] = []
        var failure: StoreError?
        for index in 0..<64 {
            let segment = try TestSegments.make(sourceStart: Int64(index * 16), tokens: 8, shape: big, seed: UInt64(index))
            let before = try harness.store.digest()
            do {
                try harness.store.append(sequence: "filling", model: TestSegments.model, segments: [segment])
                appended.append(segment)
            } catch {
                failure = error
                #expect(try harness.store.digest() == before)
                break
            }
        }
        let error = try #require(failure, "a 1 MiB map never filled up")
        #expect(error.kind == .resourceExhausted)
        #expect(error.message.contains("is full (LMDB map size reached"))
        #expect(!appended.isEmpty)
        #expect(try harness.store.read(sequence: "filling") == appended)

        let digest = try harness.store.digest()
        try harness.reopen()
        #expect(try harness.store.digest() == digest)
        #expect(try harness.store.read(sequence: "filling") == appended)
        // Deleting still works in a full map (LMDB reuses the freed pages once no snapshot needs them).
        try harness.store.delete(sequence: "filling")
        #expect(try harness.store.list().isEmpty)
    }
}
