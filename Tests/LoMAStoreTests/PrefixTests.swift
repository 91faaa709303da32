import LoMAStore
import Testing

@Suite("Prefix sharing")
struct PrefixTests {
    @Test("Lookup returns the longest stored prefix of the hashes, in order", arguments: StoreKind.allCases)
    func longestPrefix(kind: StoreKind) throws {
        let harness = try TestStore(kind)
        defer { harness.finish() }
        let store = harness.store
        let hashes = TestSegments.chunkHashes(4)
        let segments = try TestSegments.run(from: 0, count: 3)
        #expect(try store.publishPrefix(model: TestSegments.model, chunkHashes: Array(hashes[0..<3]), segments: segments) == 3)

        #expect(try store.lookupPrefix(model: TestSegments.model, chunkHashes: hashes) == segments)
        #expect(try store.lookupPrefix(model: TestSegments.model, chunkHashes: Array(hashes[0..<2])) == Array(segments[0..<2]))
        let otherChain = TestSegments.chunkHashes(3, salt: 9)
        #expect(try store.lookupPrefix(model: TestSegments.model, chunkHashes: [hashes[0], otherChain[1], hashes[2]]) == [segments[0]])
        #expect(try store.lookupPrefix(model: TestSegments.model, chunkHashes: otherChain).isEmpty)
        // Hashes only match within the same tenant and model.
        #expect(try store.lookupPrefix(model: "other-model", chunkHashes: hashes).isEmpty)
        #expect(try store.lookupPrefix(tenant: "team-b", model: TestSegments.model, chunkHashes: hashes).isEmpty)

        let statistics = store.statistics
        #expect(statistics.prefixEntries == 3)
        #expect(statistics.prefixLookups == 6)
        #expect(statistics.prefixChunksFound == 3 + 2 + 1)
    }

    @Test("Republishing a stored hash keeps the first memory and stores only new chunks", arguments: StoreKind.allCases)
    func firstPublisherWins(kind: StoreKind) throws {
        let harness = try TestStore(kind)
        defer { harness.finish() }
        let store = harness.store
        let hashes = TestSegments.chunkHashes(3)
        let original = try TestSegments.run(from: 0, count: 2, seed: 1)
        try store.publishPrefix(model: TestSegments.model, chunkHashes: Array(hashes[0..<2]), segments: original)
        let replacement = try TestSegments.run(from: 0, count: 3, seed: 2)
        #expect(try store.publishPrefix(model: TestSegments.model, chunkHashes: hashes, segments: replacement) == 1)
        #expect(try store.lookupPrefix(model: TestSegments.model, chunkHashes: hashes) == original + [replacement[2]])
        let before = try store.digest()
        #expect(try store.publishPrefix(model: TestSegments.model, chunkHashes: hashes, segments: replacement) == 0)
        #expect(try store.digest() == before)
    }

    @Test("Malformed publishes and lookups are refused without changing the store", arguments: StoreKind.allCases)
    func errors(kind: StoreKind) throws {
        let harness = try TestStore(kind)
        defer { harness.finish() }
        let store = harness.store
        let hashes = TestSegments.chunkHashes(2)
        try store.publishPrefix(model: TestSegments.model, chunkHashes: [hashes[0]], segments: TestSegments.run(from: 0, count: 1))
        try expectRejected(.invalidArgument, mentioning: "chunk hash 1 has 31 bytes; expected 32", leavingUnchanged: store) {
            try store.publishPrefix(model: TestSegments.model, chunkHashes: [hashes[1], Array(hashes[1].dropLast())],
                                    segments: TestSegments.run(from: 16, count: 2))
        }
        try expectRejected(.invalidArgument, mentioning: "2 chunk hashes for 1 memory segments", leavingUnchanged: store) {
            try store.publishPrefix(model: TestSegments.model, chunkHashes: hashes, segments: TestSegments.run(from: 0, count: 1))
        }
        let wide = MemoryShape(layers: 2, kvHeads: 2, headDim: 16)
        try expectRejected(.invalidArgument, mentioning: "model 'tiny-loma' of tenant 'local' stores layers=2 kvHeads=2 headDim=8", leavingUnchanged: store) {
            try store.publishPrefix(model: TestSegments.model, chunkHashes: [hashes[1]],
                                    segments: [TestSegments.make(sourceStart: 16, shape: wide)])
        }
        try expectRejected(.invalidArgument, mentioning: "no chunk hashes", leavingUnchanged: store) {
            _ = try store.lookupPrefix(model: TestSegments.model, chunkHashes: [])
        }
    }

    @Test("Prefix memory outlives the sequence that held the same segments", arguments: StoreKind.allCases)
    func independentOfSequences(kind: StoreKind) throws {
        let harness = try TestStore(kind)
        defer { harness.finish() }
        let store = harness.store
        let segments = try TestSegments.run(from: 0, count: 2)
        try store.append(sequence: "s", model: TestSegments.model, segments: segments)
        try store.publishPrefix(model: TestSegments.model, chunkHashes: TestSegments.chunkHashes(2), segments: segments)
        try store.delete(sequence: "s")
        #expect(try store.lookupPrefix(model: TestSegments.model, chunkHashes: TestSegments.chunkHashes(2)) == segments)
    }
}
