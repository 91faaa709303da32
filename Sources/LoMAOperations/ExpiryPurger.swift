import Dispatch
import Logging
import LoMARuntime
import LoMAStore
import Synchronization

/// Removes the store's expired sequences every `store.purge_interval_seconds`.
///
/// An expired sequence already behaves as absent, but until it is removed its segments stay
/// stored and count against its tenant's quota. The store only removes one lazily, when its
/// name is written again (and, in memory mode, when a write needs room), so in durable mode a
/// client that never reuses a name left its bytes and quota taken for good. This timer gives
/// them back.
///
/// It runs on a serial queue of its own, not in the broker loop: a purge in durable mode is an
/// LMDB write transaction, which must not hold up the broker's polling, and the store stays a
/// plain thread-safe object that knows nothing about timers or the daemon. A failed purge is
/// logged and retried at the next tick: expired sequences are invisible either way, so a purge
/// that fails (the disk is full, say) costs space, never correctness.
public final class ExpiryPurger: Sendable {
    /// Runs `work` once `after` has passed. The daemon uses `ExpiryPurger.dispatchAfter`; tests
    /// pass one that holds the work until they run it, in place of the wait.
    public typealias Schedule = @Sendable (_ after: Duration, _ work: @escaping @Sendable () -> Void) -> Void

    private let store: MemoryStore
    private let interval: Duration
    private let logger: Logger
    private let schedule: Schedule
    /// Set by `stop`. Each tick checks it and purges under the same lock, so once `stop` has
    /// returned no purge is running or will start (the runtime closes the store next).
    private let stopped = Mutex(false)

    /// - Parameter interval: time between the end of one purge and the start of the next; must be
    ///   positive (`store.purge_interval_seconds = 0` means the runtime makes no purger).
    public init(store: MemoryStore, interval: Duration, logger: Logger = Logger(label: "lomad"),
                schedule: @escaping Schedule = ExpiryPurger.dispatchAfter) {
        precondition(interval > .zero, "the purge interval must be positive")
        self.store = store
        self.interval = interval
        self.logger = logger
        self.schedule = schedule
    }

    /// Schedules the first purge one interval from now; each purge schedules the next.
    public func start() {
        scheduleNext()
    }

    /// Stops the ticks: waits for a purge in progress, and later ticks do nothing. Call it before
    /// closing the store.
    public func stop() {
        stopped.withLock { $0 = true }
    }

    private func scheduleNext() {
        schedule(interval) { [weak self] in self?.tick() }
    }

    private func tick() {
        let outcome: Result<Int, StoreError>? = stopped.withLock { stopped in
            guard !stopped else { return nil }
            return Result { () throws(StoreError) in try store.purgeExpired() }
        }
        guard let outcome else { return }
        switch outcome {
        case .success(let purged) where purged > 0:
            logger.info("expired sequences purged", metadata: ["purged": "\(purged)"])
        case .success:
            logger.debug("expired sequences purged", metadata: ["purged": "0"])
        case .failure(let error):
            logger.error("purging expired sequences failed; retrying at the next interval", metadata: ["error": "\(error)"])
        }
        scheduleNext()
    }

    /// The daemon's schedule: one serial utility queue, so purges never overlap one another and
    /// never take a thread the broker or the workers use.
    public static let dispatchAfter: Schedule = { delay, work in
        queue.asyncAfter(deadline: .now() + delay.dispatchInterval, execute: work)
    }

    private static let queue = DispatchQueue(label: "lomad-expiry-purge", qos: .utility)
}
