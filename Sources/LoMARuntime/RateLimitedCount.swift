/// Logs the first of a run of events and then at most one per interval, with how many happened
/// in between, so a flood of refusals cannot flood the journal.
struct RateLimitedCount {
    let interval: Duration
    private var lastLogged: ContinuousClock.Instant?
    private var suppressed = 0

    init(interval: Duration) {
        self.interval = interval
    }

    /// Nil when this event should not be logged; else the number of events not logged since the
    /// last one that was.
    mutating func shouldLog(now: ContinuousClock.Instant) -> Int? {
        if let lastLogged, now - lastLogged < interval {
            suppressed += 1
            return nil
        }
        lastLogged = now
        defer { suppressed = 0 }
        return suppressed
    }
}
