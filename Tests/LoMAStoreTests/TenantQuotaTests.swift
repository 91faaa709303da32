import Foundation
@testable import LoMAStore
import Testing

@Suite("Tenant usage and quotas")
struct TenantQuotaTests {
    @Test("Usage counts each tenant's segments once, forks included, and falls to zero when all is deleted", arguments: StoreKind.allCases)
    func usageFollowsWritesForksAndDeletes(kind: StoreKind) throws {
        let harness = try TestStore(kind)
        defer { harness.finish() }
        let store = harness.store
        let segment = try TestSegments.encodedBytes()

        try store.append(tenant: "alice", sequence: "a", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 3))
        try store.append(tenant: "bob", sequence: "a", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 1))
        #expect(store.bytes(ofTenant: "alice") == 3 * segment)
        #expect(store.bytes(ofTenant: "bob") == segment)

        // A fork shares the segments: no new bytes until it grows.
        try store.fork(tenant: "alice", source: "a", destination: "b")
        #expect(store.bytes(ofTenant: "alice") == 3 * segment)
        try store.append(tenant: "alice", sequence: "b", model: TestSegments.model, segments: TestSegments.run(from: 48, count: 1))
        #expect(store.bytes(ofTenant: "alice") == 4 * segment)

        try store.publishPrefix(tenant: "alice", model: TestSegments.model, chunkHashes: TestSegments.chunkHashes(2),
                                segments: TestSegments.run(from: 0, count: 2, seed: 9))
        #expect(store.bytes(ofTenant: "alice") == 6 * segment)

        try store.delete(tenant: "alice", sequence: "a")
        #expect(store.bytes(ofTenant: "alice") == 6 * segment, "the fork still holds a's segments")
        try store.delete(tenant: "alice", sequence: "b")
        #expect(store.bytes(ofTenant: "alice") == 2 * segment, "only the prefix entries remain")
        #expect(store.bytes(ofTenant: "bob") == segment)

        if kind == .durable {
            try harness.reopen()
            #expect(harness.store.bytes(ofTenant: "alice") == 2 * segment, "usage is rebuilt from LMDB")
            #expect(harness.store.bytes(ofTenant: "bob") == segment)
        }
    }

    @Test("A quota admits writes up to its bytes, refuses the next, and admits again after a delete", arguments: StoreKind.allCases)
    func quotaBoundary(kind: StoreKind) throws {
        let segment = try TestSegments.encodedBytes()
        let harness = try TestStore(kind) { tenant in tenant == "alice" ? 2 * segment : nil }
        defer { harness.finish() }
        let store = harness.store

        try store.append(tenant: "alice", sequence: "a", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 2))
        try expectRejected(.resourceExhausted, mentioning: "tenant 'alice' quota of \(2 * segment) bytes", leavingUnchanged: store) {
            try store.append(tenant: "alice", sequence: "a", model: TestSegments.model, segments: TestSegments.run(from: 32, count: 1))
        }
        try expectRejected(.resourceExhausted, mentioning: "it holds \(2 * segment) bytes", leavingUnchanged: store) {
            try store.publishPrefix(tenant: "alice", model: TestSegments.model, chunkHashes: TestSegments.chunkHashes(1),
                                    segments: TestSegments.run(from: 0, count: 1))
        }
        // Another tenant is not limited by alice's quota.
        try store.append(tenant: "bob", sequence: "a", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 4))

        try store.delete(tenant: "alice", sequence: "a")
        try store.append(tenant: "alice", sequence: "c", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 2))
        #expect(store.bytes(ofTenant: "alice") == 2 * segment)
    }

    @Test("Replacing a tenant's expired sequence counts the bytes it frees against the quota")
    func expiredSequenceMakesRoom() throws {
        let segment = try TestSegments.encodedBytes()
        let harness = try TestStore(.memory) { _ in 2 * segment }
        defer { harness.finish() }
        let store = harness.store
        try store.append(tenant: "alice", sequence: "a", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 2),
                         ttl: .milliseconds(1))
        harness.clock.advance(by: .milliseconds(2))
        // The expired sequence behaves as absent: appending to its name starts it afresh, and the
        // bytes it held are freed in the same change.
        try store.append(tenant: "alice", sequence: "a", model: TestSegments.model, segments: TestSegments.run(from: 0, count: 2))
        #expect(store.bytes(ofTenant: "alice") == 2 * segment)
    }
}
