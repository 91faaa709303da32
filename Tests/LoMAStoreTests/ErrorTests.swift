import Foundation
import LoMAStore
import Testing

@Suite("Errors leave the store unchanged")
struct ErrorTests {
    /// A store holding one sequence "s" of two segments, for the error cases to try to change.
    private func populated(_ kind: StoreKind, tenantQuota: StoreConfiguration.TenantQuota? = nil) throws -> TestStore {
        let harness = try TestStore(kind, tenantQuota: tenantQuota)
        try harness.store.append(sequence: "s", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 2))
        try harness.store.publishPrefix(model: TestSegments.model, chunkHashes: TestSegments.chunkHashes(1),
                                        segments: TestSegments.run(from: 0, count: 1))
        return harness
    }

    @Test("Unknown sequences are notFound for every operation", arguments: StoreKind.allCases)
    func unknownSequence(kind: StoreKind) throws {
        let harness = try populated(kind)
        defer { harness.finish() }
        let store = harness.store
        try expectRejected(.notFound, mentioning: "sequence 'nope' not found in tenant 'local'", leavingUnchanged: store) {
            _ = try store.sequenceInfo(sequence: "nope")
        }
        try expectRejected(.notFound, mentioning: "'nope'", leavingUnchanged: store) { _ = try store.read(sequence: "nope") }
        try expectRejected(.notFound, mentioning: "'s' not found in tenant 'other'", leavingUnchanged: store) {
            _ = try store.read(tenant: "other", sequence: "s")
        }
    }

    @Test("A position going backwards is failedPrecondition and the whole append is refused", arguments: StoreKind.allCases)
    func positionBackwards(kind: StoreKind) throws {
        let harness = try populated(kind)
        defer { harness.finish() }
        let store = harness.store
        try expectRejected(.failedPrecondition, mentioning: "position goes backwards: memory segment 0 starts at 16", leavingUnchanged: store) {
            try store.append(sequence: "s", model: TestSegments.model, segments: [TestSegments.make(sourceStart: 16)])
        }
        // The first segment is fine, the second overlaps it: nothing of the call may land.
        let overlapping = [try TestSegments.make(sourceStart: 32), try TestSegments.make(sourceStart: 40)]
        try expectRejected(.failedPrecondition, mentioning: "memory segment 1 starts at 40", leavingUnchanged: store) {
            try store.append(sequence: "s", model: TestSegments.model, segments: overlapping)
        }
        #expect(try store.sequenceInfo(sequence: "s").segmentCount == 2)
    }

    @Test("KV whose geometry or model disagrees with the stored memory is refused, naming the field", arguments: StoreKind.allCases)
    func shapeMismatch(kind: StoreKind) throws {
        let harness = try populated(kind)
        defer { harness.finish() }
        let store = harness.store
        let wrongHeads = MemoryShape(layers: 2, kvHeads: 4, headDim: 8)
        try expectRejected(.invalidArgument, mentioning: "kvHeads=4", leavingUnchanged: store) {
            try store.append(sequence: "s", model: TestSegments.model,
                             segments: [TestSegments.make(sourceStart: 32, shape: wrongHeads)])
        }
        let wrongDim = MemoryShape(layers: 2, kvHeads: 2, headDim: 16)
        try expectRejected(.invalidArgument, mentioning: "sequence 's' stores layers=2 kvHeads=2 headDim=8", leavingUnchanged: store) {
            try store.append(sequence: "s", model: TestSegments.model,
                             segments: [TestSegments.make(sourceStart: 32, shape: wrongDim)])
        }
        try expectRejected(.invalidArgument, mentioning: "model 'tiny-loma'; this append is for model 'llama'", leavingUnchanged: store) {
            try store.append(sequence: "s", model: "llama", segments: [TestSegments.make(sourceStart: 32)])
        }
        let mixed = [try TestSegments.make(sourceStart: 0), try TestSegments.make(sourceStart: 16, shape: wrongDim)]
        try expectRejected(.invalidArgument, mentioning: "memory segment 1 has", leavingUnchanged: store) {
            try store.append(sequence: "fresh", model: TestSegments.model, segments: mixed)
        }
        try expectRejected(.invalidArgument, mentioning: "no memory segments", leavingUnchanged: store) {
            try store.append(sequence: "s", model: TestSegments.model, segments: [])
        }
    }

    @Test("A stale expected segment count is reported as a concurrent change", arguments: StoreKind.allCases)
    func optimisticConcurrency(kind: StoreKind) throws {
        let harness = try populated(kind)
        defer { harness.finish() }
        let store = harness.store
        let base = try store.sequenceInfo(sequence: "s").segmentCount
        try store.append(sequence: "s", model: TestSegments.model, segments: [TestSegments.make(sourceStart: 32)],
                         expectedSegmentCount: base)
        try expectRejected(.failedPrecondition, mentioning: "changed concurrently: expected 2 segments, found 3", leavingUnchanged: store) {
            try store.append(sequence: "s", model: TestSegments.model, segments: [TestSegments.make(sourceStart: 48)],
                             expectedSegmentCount: base)
        }
        try expectRejected(.failedPrecondition, mentioning: "expected 1 segments, found 0", leavingUnchanged: store) {
            try store.append(sequence: "new", model: TestSegments.model, segments: [TestSegments.make(sourceStart: 0)],
                             expectedSegmentCount: 1)
        }
    }

    @Test("Bad names and a bad TTL are invalidArgument", arguments: StoreKind.allCases)
    func badArguments(kind: StoreKind) throws {
        let harness = try populated(kind)
        defer { harness.finish() }
        let store = harness.store
        let segment = [try TestSegments.make(sourceStart: 32)]
        try expectRejected(.invalidArgument, mentioning: "tenant name is empty", leavingUnchanged: store) {
            try store.append(tenant: "", sequence: "s", model: TestSegments.model, segments: segment)
        }
        try expectRejected(.invalidArgument, mentioning: "sequence name contains a NUL", leavingUnchanged: store) {
            try store.append(sequence: "a\u{0}b", model: TestSegments.model, segments: segment)
        }
        try expectRejected(.invalidArgument, mentioning: "model name is 201 bytes", leavingUnchanged: store) {
            try store.append(sequence: "s", model: String(repeating: "m", count: 201), segments: segment)
        }
        try expectRejected(.invalidArgument, mentioning: "ttl is", leavingUnchanged: store) {
            try store.append(sequence: "s", model: TestSegments.model, segments: segment, ttl: .zero)
        }
    }

    @Test("Malformed memory segments are refused when built, naming the field")
    func malformedSegments() {
        let shape = TestSegments.shape
        let elements = shape.layers * shape.kvHeads * 4 * shape.headDim
        let good = [Float](repeating: 0.5, count: elements)
        let positions: [Int64] = [3, 7, 11, 15]
        func rejection(_ build: () throws(StoreError) -> MemorySegment) -> String {
            do {
                _ = try build()
                return "accepted"
            } catch {
                #expect(error.kind == .invalidArgument)
                return error.message
            }
        }
        #expect(rejection { () throws(StoreError) in
            try MemorySegment(keys: Array(good.dropLast()), values: good, positions: positions, shape: shape, tokens: 4,
                              sourceStart: 0, sourceLength: 16)
        }.contains("keys have \(elements - 1) elements"))
        var withNaN = good
        withNaN[5] = .nan
        #expect(rejection { () throws(StoreError) in
            try MemorySegment(keys: good, values: withNaN, positions: positions, shape: shape, tokens: 4,
                              sourceStart: 0, sourceLength: 16)
        }.contains("values[5] is nan"))
        #expect(rejection { () throws(StoreError) in
            try MemorySegment(keys: good, values: good, positions: [3, 7, 11, 16], shape: shape, tokens: 4,
                              sourceStart: 0, sourceLength: 16)
        }.contains("position[3] = 16 is outside its source range 0..<16"))
        #expect(rejection { () throws(StoreError) in
            try MemorySegment(keys: good, values: good, positions: positions, shape: MemoryShape(layers: 0, kvHeads: 2, headDim: 8),
                              tokens: 4, sourceStart: 0, sourceLength: 16)
        }.contains("layers is 0"))
    }

    @Test("A tenant quota refuses the write that would pass it, naming the tenant and the bytes", arguments: StoreKind.allCases)
    func tenantQuota(kind: StoreKind) throws {
        let harness = try populated(kind) { tenant in tenant == "capped" ? 0 : nil }
        defer { harness.finish() }
        let store = harness.store
        try expectRejected(.resourceExhausted, mentioning: "tenant 'capped' quota of 0 bytes", leavingUnchanged: store) {
            try store.append(tenant: "capped", sequence: "s", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 1))
        }
        try store.append(tenant: "free", sequence: "s", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 1))
    }

    @Test("A closed store refuses calls instead of crashing", arguments: StoreKind.allCases)
    func closedStore(kind: StoreKind) throws {
        let harness = try populated(kind)
        defer { harness.finish() }
        harness.store.close()
        #expect(throws: StoreError(.failedPrecondition, "the store is closed")) {
            _ = try harness.store.read(sequence: "s")
        }
        #expect(throws: StoreError(.failedPrecondition, "the store is closed")) {
            try harness.store.append(sequence: "s", model: TestSegments.model, segments: TestSegments.run(from: 32, count: 1))
        }
    }
}
