import LoMAProtocol
import ZeroMQ

/// A request accepted by the broker and waiting for a worker.
struct PendingRequest {
    var route: [ZMQFrame]
    var frames: [ZMQFrame]
    var operation: Operation
    var requestID: UInt64
    /// Requests with the same key may share one pass (compress requests for one model); nil
    /// for requests that go alone.
    var batchKey: String?
    var arrival: ContinuousClock.Instant
    /// Who the request acts for: its connection's tenant, resolved when it arrived.
    var tenant: String
    /// Bytes of its frames, counted against `maxQueuedBytes` until its reply comes back.
    var byteCount: Int
}

/// A request a worker holds: when it arrived (for latency) and what it counts against the budget.
struct InFlightRequest {
    var arrival: ContinuousClock.Instant
    var byteCount: Int
}

/// The broker's waiting requests, oldest first. Small by construction (bounded by the queue
/// depth), so linear scans are cheaper than any index.
struct PendingQueue {
    private var requests: [PendingRequest] = []

    var count: Int { requests.count }
    var isEmpty: Bool { requests.isEmpty }

    mutating func append(_ request: PendingRequest) {
        requests.append(request)
    }

    mutating func removeAll() -> [PendingRequest] {
        defer { requests.removeAll() }
        return requests
    }

    var oldestBatchableArrival: ContinuousClock.Instant? {
        requests.first { $0.batchKey != nil }?.arrival
    }

    /// Removes and returns the oldest request that may go now, together with the requests that
    /// share its batch key (up to `maxRequests`, oldest first). A batchable request may go when
    /// `isReady(arrival of its oldest, batch size)` says so; requests that go alone always may.
    mutating func takeNextBatch(maxRequests: Int,
                                isReady: (ContinuousClock.Instant, Int) -> Bool) -> [PendingRequest]? {
        var decided = Set<String>()
        for index in requests.indices {
            guard let key = requests[index].batchKey else {
                return [requests.remove(at: index)]
            }
            guard decided.insert(key).inserted else { continue }
            let members = requests.indices.filter { requests[$0].batchKey == key }.prefix(max(1, maxRequests))
            guard isReady(requests[index].arrival, members.count) else { continue }
            let batch = members.map { requests[$0] }
            for member in members.reversed() { requests.remove(at: member) }
            return batch
        }
        return nil
    }
}
