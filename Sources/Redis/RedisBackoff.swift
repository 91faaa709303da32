/// When a node that failed may be tried again: exponential backoff from `initial` to `maximum`,
/// reset by the first success. While a node is backing off, calls to it fail at once with
/// `unavailable` instead of each paying a connect timeout.
struct RedisBackoff {
    let initial: Duration
    let maximum: Duration
    private(set) var failures = 0
    private(set) var retryAt: ContinuousClock.Instant?

    init(initial: Duration, maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
    }

    /// Records a failure at `now` and returns how long the node now waits.
    mutating func failed(at now: ContinuousClock.Instant) -> Duration {
        failures += 1
        var delay = initial
        for _ in 1..<min(failures, 30) where delay < maximum { delay = delay * 2 }
        delay = min(delay, maximum)
        retryAt = now + delay
        return delay
    }

    mutating func succeeded() {
        failures = 0
        retryAt = nil
    }

    func isWaiting(at now: ContinuousClock.Instant) -> Bool {
        retryAt.map { now < $0 } ?? false
    }
}
