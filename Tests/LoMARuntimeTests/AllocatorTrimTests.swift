@testable import LoMARuntime
import Synchronization
import Testing

@Suite("Allocator trim policy")
struct AllocatorTrimTests {
    /// Holds scheduled work until the test runs it, in place of the delay.
    final class ManualSchedule: Sendable {
        let queued = Mutex<[@Sendable () -> Void]>([])
        func schedule(_ delay: Duration, _ work: @escaping @Sendable () -> Void) { queued.withLock { $0.append(work) } }
        func takeAndRun() {
            let works = queued.withLock { queued in
                defer { queued.removeAll() }
                return queued
            }
            for work in works { work() }
        }
    }

    @Test("Trims once after each transition from working to idle, if still idle when the delay passes")
    func trimsAfterSettledIdle() {
        let released = Atomic<Int>(0)
        let manual = ManualSchedule()
        let trim = AllocatorTrim(delay: .milliseconds(1), release: { released.add(1, ordering: .relaxed) },
                                 schedule: { manual.schedule($0, $1) })
        trim.note(queued: 0, busyWorkers: 0)
        manual.takeAndRun()
        #expect(released.load(ordering: .relaxed) == 0, "idle from the start: nothing to give back")

        trim.note(queued: 3, busyWorkers: 2)
        trim.note(queued: 0, busyWorkers: 1)
        manual.takeAndRun()
        #expect(released.load(ordering: .relaxed) == 0, "a worker still runs")

        trim.note(queued: 0, busyWorkers: 0)
        trim.note(queued: 0, busyWorkers: 0)
        manual.takeAndRun()
        #expect(released.load(ordering: .relaxed) == 1, "one trim per transition, however many idle notes")

        trim.note(queued: 1, busyWorkers: 0)
        trim.note(queued: 0, busyWorkers: 0)
        trim.note(queued: 0, busyWorkers: 1)
        manual.takeAndRun()
        #expect(released.load(ordering: .relaxed) == 1, "work resumed before the delay passed: no trim")

        trim.note(queued: 0, busyWorkers: 0)
        manual.takeAndRun()
        #expect(released.load(ordering: .relaxed) == 2)
        #expect(trim.trims == 2)
    }
}
