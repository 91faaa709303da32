import Foundation
import LoMAOperations
import LoMAStore
import LoMATestSupport
import Synchronization
import Testing

@Suite("Expiry purger: the periodic purge of expired sequences")
struct ExpiryPurgerTests {
    /// Holds each scheduled tick until the test runs it, in place of the wait, and records the
    /// delay it was scheduled with.
    final class ManualSchedule: Sendable {
        private let queued = Mutex<[(Duration, @Sendable () -> Void)]>([])

        func schedule(_ delay: Duration, _ work: @escaping @Sendable () -> Void) {
            queued.withLock { $0.append((delay, work)) }
        }

        var delays: [Duration] { queued.withLock { $0.map(\.0) } }

        /// Runs the ticks scheduled so far (not those they schedule).
        func runPending() {
            let works = queued.withLock { queued in
                defer { queued.removeAll() }
                return queued.map(\.1)
            }
            for work in works { work() }
        }
    }

    /// The store's wall clock, moved by the test so TTLs pass without waiting.
    final class ManualClock: Sendable {
        private let now = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        func read() -> Date { now.withLock { $0 } }
        func advance(seconds: Double) { now.withLock { $0 += seconds } }
    }

    private static let shape = MemoryShape(layers: 1, kvHeads: 1, headDim: 4)

    /// A small segment; distinct `seed`s give distinct content.
    private static func segment(at start: Int64, seed: Int) throws -> MemorySegment {
        let count = shape.layers * shape.kvHeads * 2 * shape.headDim
        return try MemorySegment(keys: (0..<count).map { Float($0 + seed) }, values: (0..<count).map { Float(-$0 - seed) },
                                 positions: [start + 1, start + 3], shape: shape, tokens: 2,
                                 sourceStart: start, sourceLength: 4)
    }

    @Test("Each tick purges what expired since the last one and schedules the next; after stop, ticks do nothing")
    func purgesOnEachTickAndStops() throws {
        let directory = try TemporaryDirectory("lomad-purger")
        defer { directory.remove() }
        let clock = ManualClock()
        let store = try MemoryStore(configuration: StoreConfiguration(mode: .durable(directory: directory.url)),
                                    clock: clock.read)
        defer { store.close() }
        let model = "m"
        try store.append(sequence: "short", model: model, segments: [Self.segment(at: 0, seed: 1)], ttl: .seconds(10))
        try store.append(sequence: "longer", model: model, segments: [Self.segment(at: 0, seed: 2)], ttl: .seconds(100))
        try store.append(sequence: "after-stop", model: model, segments: [Self.segment(at: 0, seed: 3)], ttl: .seconds(1000))
        try store.append(sequence: "kept", model: model, segments: [Self.segment(at: 0, seed: 4)])
        let fullBytes = store.bytes(ofTenant: MemoryStore.defaultTenant)

        let schedule = ManualSchedule()
        let purger = ExpiryPurger(store: store, interval: .seconds(30),
                                  schedule: { schedule.schedule($0, $1) })
        purger.start()
        #expect(schedule.delays == [.seconds(30)])
        #expect(store.statistics.expiredPurged == 0, "start only schedules the first purge")

        schedule.runPending()
        #expect(store.statistics.expiredPurged == 0, "nothing had expired")
        #expect(schedule.delays == [.seconds(30)], "each tick schedules the next")

        clock.advance(seconds: 50)
        schedule.runPending()
        #expect(store.statistics.expiredPurged == 1)
        #expect(store.statistics.sequences == 3)
        let afterFirst = store.bytes(ofTenant: MemoryStore.defaultTenant)
        #expect(afterFirst < fullBytes, "the purged sequence's own segment no longer counts")

        clock.advance(seconds: 100)
        schedule.runPending()
        #expect(store.statistics.expiredPurged == 2)
        #expect(store.statistics.sequences == 2)
        #expect(store.bytes(ofTenant: MemoryStore.defaultTenant) < afterFirst)
        #expect(try store.list().map(\.name) == ["after-stop", "kept"])

        purger.stop()
        clock.advance(seconds: 1000)
        schedule.runPending()
        #expect(store.statistics.expiredPurged == 2, "a tick after stop purges nothing")
        #expect(store.statistics.sequences == 2, "the expired sequence is still stored: nothing purged it")
        #expect(schedule.delays.isEmpty, "a tick after stop schedules no other")
        #expect(try store.list().map(\.name) == ["kept"], "it is expired all the same")
    }

    @Test("A purge that fails is retried at the next tick, not fatal")
    func failedPurgeKeepsTicking() throws {
        let clock = ManualClock()
        let store = try MemoryStore(configuration: StoreConfiguration(mode: .memory), clock: clock.read)
        let schedule = ManualSchedule()
        let purger = ExpiryPurger(store: store, interval: .milliseconds(200),
                                  schedule: { schedule.schedule($0, $1) })
        purger.start()
        store.close()  // every call now fails with failedPrecondition
        #expect(throws: StoreError.self) { try store.purgeExpired() }
        schedule.runPending()
        schedule.runPending()
        #expect(schedule.delays == [.milliseconds(200)], "still ticking after two failed purges")
        purger.stop()
    }
}
