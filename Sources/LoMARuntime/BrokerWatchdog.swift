/// Keeps the service manager's watchdog fed from inside the broker loop. The pings go out only
/// when the loop comes round, so a broker stuck in a call (or in a loop that never polls again)
/// stops them and systemd restarts the daemon; a separate timer thread would keep pinging for a
/// daemon that no longer answers anyone.
struct BrokerWatchdog {
    private let notifier: ServiceNotifier
    /// Half the timeout, as sd_watchdog_enabled(3) recommends, so one late loop is not fatal.
    let interval: Duration
    private(set) var nextPing: ContinuousClock.Instant

    init?(notifier: ServiceNotifier) {
        guard let timeout = notifier.watchdogTimeout else { return nil }
        self.notifier = notifier
        interval = timeout / 2
        nextPing = .now
    }

    /// Pings when due; the broker calls it on every pass of its loop.
    mutating func pingIfDue(now: ContinuousClock.Instant = .now) {
        guard now >= nextPing else { return }
        notifier.watchdog()
        nextPing = now + interval
    }
}
