import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Synchronization
import Testing

/// What the flooding tenant's clients saw, shared with the test.
final class FloodCounters: Sendable {
    let completed = Atomic<Int>(0)
    let refusedByShare = Atomic<Int>(0)
    let refusedOtherwise = Atomic<Int>(0)
    let otherFailures = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)
}

/// One tenant flooding the daemon must not shut another out: a tenant's waiting requests may take
/// only its share of the queue (past it, that tenant alone is refused as busy), and tenants take
/// turns for the workers, so the other tenant's request waits for at most the pass running now
/// and the next, not for the flooder's whole backlog.
@Suite("Tenant fairness")
struct TenantFairnessTests {
    /// More than the whole queue and a running pass: without a share, A alone fills the queue.
    static let flooders = 12
    /// Long enough that a pass outlasts the delays a loaded machine adds to a client's round
    /// trip: A's passes are counted as A's clients receive them, so a reply A's client took long
    /// to read would otherwise count against a later B request.
    static let floodSegments = 256
    static let quietRequests = 10
    static let queueDepth = 8

    @Test("tenant A floods, tenant B's requests are all admitted and go ahead of A's backlog")
    func floodingTenantDoesNotStarveAnother() async throws {
        let daemon = try AuthenticatedDaemon(
            clients: ["a", "b"], tenants: [.init(name: "alpha", clients: ["a"]), .init(name: "beta", clients: ["b"])],
            arguments: ["--workers", "1", "--queue-depth", "\(Self.queueDepth)", "--max-batch", "1", "--tenant-queue-percent", "50"])
        let quiet = try daemon.curveClient("b", timeout: .seconds(120))
        let geometry = try await ReliabilityModelGeometry.of(quiet)
        let (floodKeys, floodValues) = geometry.segment(segments: Self.floodSegments, seed: 70)
        let counters = FloodCounters()

        let floods = try (0..<Self.flooders).map { _ in try daemon.curveClient("a", timeout: .seconds(120)) }
        let flood = Task {
            await withTaskGroup(of: Void.self) { group in
                for client in floods {
                    group.addTask {
                        while !counters.stop.load(ordering: .relaxed) {
                            do {
                                _ = try await client.compress(keys: floodKeys, values: floodValues, options: CompressOptions(model: "m"))
                                counters.completed.add(1, ordering: .relaxed)
                            } catch let error as StatusError where error.code == .resourceExhausted
                                        && error.message.contains("tenant 'alpha'") && error.message.contains("tenant_queue_percent") {
                                counters.refusedByShare.add(1, ordering: .relaxed)
                                try? await Task.sleep(for: .milliseconds(20))
                            } catch let error as StatusError where error.code == .resourceExhausted {
                                counters.refusedOtherwise.add(1, ordering: .relaxed)
                                try? await Task.sleep(for: .milliseconds(20))
                            } catch {
                                counters.otherFailures.add(1, ordering: .relaxed)
                            }
                        }
                    }
                }
            }
        }
        // A is refused (it holds all it may) before B asks anything.
        let giveUp = ContinuousClock.now + .seconds(120)
        while counters.refusedByShare.load(ordering: .relaxed) + counters.refusedOtherwise.load(ordering: .relaxed) == 0 {
            try #require(ContinuousClock.now < giveUp, "tenant A was never refused; log:\n\(daemon.daemon.log)")
            try await Task.sleep(for: .milliseconds(10))
        }

        var quietOK = 0
        var floodPassesDuringQuiet: [Int] = []
        for index in 0..<Self.quietRequests {
            let (keys, values) = geometry.segment(seed: UInt64(100 + index))
            let before = counters.completed.load(ordering: .relaxed)
            do {
                _ = try await quiet.compress(keys: keys, values: values, options: CompressOptions(model: "m"))
                quietOK += 1
            } catch {
                Issue.record("tenant B's request \(index) failed: \(error)")
            }
            floodPassesDuringQuiet.append(counters.completed.load(ordering: .relaxed) - before)
        }
        let stats = try await quiet.stats()
        counters.stop.store(true, ordering: .relaxed)
        await flood.value

        let completed = counters.completed.load(ordering: .relaxed), refused = counters.refusedByShare.load(ordering: .relaxed)
        print("fairness: tenant B \(quietOK)/\(Self.quietRequests) ok, A passes finished while each B request waited \(floodPassesDuringQuiet); tenant A \(completed) ok, \(refused) refused by its share")
        #expect(quietOK == Self.quietRequests)
        #expect(counters.otherFailures.load(ordering: .relaxed) == 0)
        // A was held to its share, never to the whole queue's bound.
        #expect(refused > 0 && counters.refusedOtherwise.load(ordering: .relaxed) == 0)
        #expect(stats.tenant.name == "beta")
        // With A's share of 4 waiting and one running, first come first served would make each B
        // request wait for about five of A's passes; in turn it waits for the running one, and
        // at most one more that was handed out before B's request was read. The passes are
        // counted as A's clients receive them, so on a loaded machine a reply read late lands in
        // a later B request's count: the median is what shows the order (about five under first
        // come first served), the few late reads do not move it.
        let median = floodPassesDuringQuiet.sorted()[floodPassesDuringQuiet.count / 2]
        #expect(median <= 2, "A passes finished during B's requests: \(floodPassesDuringQuiet)")
        #expect(daemon.daemon.process.isRunning)
    }
}
