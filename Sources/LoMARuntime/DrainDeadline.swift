import Synchronization

/// Shared by the broker and the workers: set once the shutdown drain deadline has passed (or the
/// broker has stopped), after which every running pass stops at its next layer and its requests
/// are answered UNAVAILABLE. Without it a worker finishes whatever pass it is in, however long
/// (a 1,536-segment request kept one busy for over a minute after the broker had stopped), and
/// the process outlives systemd's stop timeout.
final class DrainDeadline: Sendable {
    private let passed = Atomic<Bool>(false)

    /// Safe from any thread, any number of times.
    func markPassed() {
        passed.store(true, ordering: .releasing)
    }

    var hasPassed: Bool {
        passed.load(ordering: .acquiring)
    }
}
