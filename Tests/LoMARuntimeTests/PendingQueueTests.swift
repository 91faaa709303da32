import Foundation
import LoMAProtocol
@testable import LoMARuntime
import Testing
import ZeroMQ

/// The broker's queue hands requests out tenant by tenant, and fills a batch a tenant at a time.
@Suite struct PendingQueueTests {
    static let start = ContinuousClock.now

    static func request(_ tenant: String, _ id: UInt64, batchKey: String? = nil) throws -> PendingRequest {
        var envelope = Loma_V1_Request()
        envelope.requestID = id
        envelope.health = Loma_V1_HealthRequest()
        let message = try DecodedMessage<Loma_V1_Request>(frames: [ZMQFrame(bytes: try envelope.serializedBytes() as [UInt8])],
                                                          limits: ProtocolLimits())
        return PendingRequest(route: [], message: message, operation: .compress, requestID: id, batchKey: batchKey,
                              arrival: start + .milliseconds(Int64(id)), tenant: tenant, byteCount: 1)
    }

    static func drain(_ queue: inout PendingQueue, maxRequests: Int = 1) -> [[UInt64]] {
        var order: [[UInt64]] = []
        while let batch = queue.takeNextBatch(maxRequests: maxRequests, isReady: { _, _ in true }) {
            order.append(batch.map(\.requestID))
        }
        return order
    }

    @Test("a tenant with a backlog and one with a single request take turns")
    func tenantsTakeTurns() throws {
        var queue = PendingQueue()
        for id in 1...5 { queue.append(try Self.request("a", UInt64(id))) }
        queue.append(try Self.request("b", 6))
        queue.append(try Self.request("c", 7))
        #expect(queue.count(of: "a") == 5)
        #expect(Self.drain(&queue) == [[1], [6], [7], [2], [3], [4], [5]])
    }

    @Test("a tenant arriving after another was served goes before that tenant's next request")
    func newTenantGoesNext() throws {
        var queue = PendingQueue()
        for id in 1...3 { queue.append(try Self.request("a", UInt64(id))) }
        #expect(queue.takeNextBatch(maxRequests: 1, isReady: { _, _ in true })?.map(\.requestID) == [1])
        queue.append(try Self.request("b", 4))
        #expect(Self.drain(&queue) == [[4], [2], [3]])
    }

    @Test("a batch takes every tenant's oldest before any tenant's second")
    func batchesInterleaveTenants() throws {
        var queue = PendingQueue()
        for id in 1...6 { queue.append(try Self.request("a", UInt64(id), batchKey: "m")) }
        queue.append(try Self.request("b", 7, batchKey: "m"))
        queue.append(try Self.request("b", 8, batchKey: "m"))
        #expect(Self.drain(&queue, maxRequests: 4) == [[1, 7, 2, 8], [3, 4, 5, 6]])
    }

    @Test("a batch that is not ready yet holds back only itself")
    func unreadyBatchWaits() throws {
        var queue = PendingQueue()
        queue.append(try Self.request("a", 1, batchKey: "m"))
        queue.append(try Self.request("a", 2))
        let first = queue.takeNextBatch(maxRequests: 4, isReady: { _, _ in false })
        #expect(first?.map(\.requestID) == [2])
        #expect(queue.takeNextBatch(maxRequests: 4, isReady: { _, _ in false }) == nil)
        #expect(queue.count == 1)
    }
}
