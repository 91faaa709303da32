import CLoMAAllocator
import Dispatch
import Synchronization

/// Returns memory the allocator keeps after a burst of work to the operating system, shortly
/// after the daemon goes idle (nothing queued, no worker busy).
///
/// glibc keeps freed memory in its arenas (one per thread that allocates, up to 8 per core):
/// after a flood of large requests the freed request frames, tensors and scratch stay resident,
/// so RSS stayed near the flood's peak until the process exited. `malloc_trim(0)` walks every
/// arena and gives whole free pages back (`madvise(MADV_DONTNEED)`), including pages in the
/// middle of an arena, which glibc's own trim threshold never does for non-main arenas.
///
/// The trim runs `settleDelay` after the transition to idle, on a background queue, and only if
/// the daemon is still idle then: replies leave through libzmq's I/O thread, which frees their
/// buffers only once they are written to the client, after the broker already saw the last
/// worker go idle (trimming at once missed most of a flood's memory). A trim takes each arena's
/// lock in turn, so it is kept off busy periods. Chosen over `M_ARENA_MAX`/`M_TRIM_THRESHOLD`
/// at start because those change how much is kept, not when it is given back, and fewer arenas
/// would make workers contend on allocation.
final class AllocatorTrim: Sendable {
    typealias Schedule = @Sendable (_ after: Duration, _ work: @escaping @Sendable () -> Void) -> Void

    static let settleDelay: Duration = .milliseconds(250)

    private let release: @Sendable () -> Void
    private let schedule: Schedule
    private let delay: Duration
    /// Whether the daemon was busy at the last note, and a count of busy/idle changes: a trim
    /// scheduled at one idle transition runs only if no change followed it.
    private let state = Mutex<(busy: Bool, changes: UInt64)>((false, 0))
    private let trimCount = Atomic<Int>(0)

    /// - Parameters:
    ///   - release: gives free memory back; `malloc_trim(0)` in the daemon.
    ///   - schedule: runs work after a delay; a background dispatch queue in the daemon.
    init(delay: Duration = AllocatorTrim.settleDelay,
         release: @escaping @Sendable () -> Void = { _ = loma_release_free_memory() },
         schedule: @escaping Schedule = AllocatorTrim.dispatchAfter) {
        self.delay = delay
        self.release = release
        self.schedule = schedule
    }

    /// Trims given back so far.
    var trims: Int { trimCount.load(ordering: .relaxed) }

    /// Called by the broker after each event with the load it now has.
    func note(queued: Int, busyWorkers: Int) {
        let busy = queued > 0 || busyWorkers > 0
        let idleSince: UInt64? = state.withLock { state in
            guard busy != state.busy else { return nil }
            state.busy = busy
            state.changes += 1
            return busy ? nil : state.changes
        }
        guard let idleSince else { return }
        schedule(delay) { [self] in
            guard state.withLock({ !$0.busy && $0.changes == idleSince }) else { return }
            release()
            trimCount.add(1, ordering: .relaxed)
        }
    }

    static func dispatchAfter(_ delay: Duration, _ work: @escaping @Sendable () -> Void) {
        DispatchQueue.global(qos: .utility).asyncAfter(deadline: .now() + delay.dispatchInterval, execute: work)
    }
}
