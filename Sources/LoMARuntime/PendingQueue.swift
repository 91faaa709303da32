/// The broker's waiting requests, oldest first within each tenant, handed out tenant by tenant
/// in turn: the tenant served least recently goes first, so a tenant that floods the queue
/// delays another tenant's request by at most one dispatch per flooding tenant, not by its whole
/// backlog. Small by construction (bounded by the queue depth), so linear scans are cheaper than
/// any index.
struct PendingQueue {
    private var requests: [PendingRequest] = []
    /// When each tenant with waiting requests was last served (a dispatch counter); tenants not
    /// here have not been served since they last had nothing waiting, and go first.
    private var lastServed: [String: UInt64] = [:]
    private var dispatches: UInt64 = 0

    var count: Int { requests.count }
    var isEmpty: Bool { requests.isEmpty }

    /// Requests `tenant` has waiting: what its share of the queue bounds.
    func count(of tenant: String) -> Int {
        requests.reduce(0) { $0 + ($1.tenant == tenant ? 1 : 0) }
    }

    mutating func append(_ request: PendingRequest) {
        requests.append(request)
    }

    mutating func removeAll() -> [PendingRequest] {
        defer {
            requests.removeAll()
            lastServed.removeAll()
        }
        return requests
    }

    var oldestBatchableArrival: ContinuousClock.Instant? {
        requests.first { $0.batchKey != nil }?.arrival
    }

    /// Removes and returns the next request that may go now, together with requests that share
    /// its batch key (up to `maxRequests`). Tenants take turns, least recently served first; within
    /// a tenant the oldest request that may go leads. Batch members are taken a tenant at a time
    /// too (every tenant's oldest, then every tenant's second ...), so one tenant's backlog cannot
    /// fill a pass another tenant's request waits for. A batchable request may go when
    /// `isReady(arrival of the oldest request with its key, batch size)` says so; requests that go
    /// alone always may.
    mutating func takeNextBatch(maxRequests: Int,
                                isReady: (ContinuousClock.Instant, Int) -> Bool) -> [PendingRequest]? {
        // Keys found not ready: every tenant's requests with that key wait.
        var waiting = Set<String>()
        for tenant in tenantsInTurn() {
            for index in requests.indices where requests[index].tenant == tenant {
                guard let key = requests[index].batchKey else {
                    return take([index], for: tenant)
                }
                guard !waiting.contains(key) else { continue }
                let sameKey = requests.indices.filter { requests[$0].batchKey == key }
                let size = min(sameKey.count, max(1, maxRequests))
                guard isReady(requests[sameKey[0]].arrival, size) else {
                    waiting.insert(key)
                    continue
                }
                // The leader is its tenant's oldest with this key, so it is in the first round.
                let members = [index] + interleavedByTenant(sameKey).filter { $0 != index }
                return take(Array(members.prefix(size)), for: tenant)
            }
        }
        return nil
    }

    /// Tenants with waiting requests, least recently served first (ties: oldest request first).
    private func tenantsInTurn() -> [String] {
        var seen = Set<String>()
        let byArrival = requests.map(\.tenant).filter { seen.insert($0).inserted }
        return byArrival.enumerated()
            .sorted { (lastServed[$0.element] ?? 0, $0.offset) < (lastServed[$1.element] ?? 0, $1.offset) }
            .map(\.element)
    }

    /// `indices` reordered so each tenant's first comes before any tenant's second, and so on;
    /// oldest first within each round.
    private func interleavedByTenant(_ indices: [Int]) -> [Int] {
        var rank: [String: Int] = [:]
        let ranked = indices.map { index -> (rank: Int, index: Int) in
            let tenant = requests[index].tenant
            defer { rank[tenant, default: 0] += 1 }
            return (rank[tenant, default: 0], index)
        }
        return ranked.sorted { ($0.rank, $0.index) < ($1.rank, $1.index) }.map(\.index)
    }

    private mutating func take(_ indices: [Int], for tenant: String) -> [PendingRequest] {
        let batch = indices.map { requests[$0] }
        for index in indices.sorted(by: >) { requests.remove(at: index) }
        dispatches += 1
        lastServed[tenant] = dispatches
        let waiting = Set(requests.map(\.tenant))
        lastServed = lastServed.filter { waiting.contains($0.key) }
        return batch
    }
}
