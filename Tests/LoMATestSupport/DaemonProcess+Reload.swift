import Foundation

extension DaemonProcess {
    /// Sends SIGHUP and waits until the daemon logs the outcome of that reload.
    /// - Returns: true when the reload applied, false when the daemon kept its configuration.
    @discardableResult
    public func reload(timeout: Duration = .seconds(20)) throws -> Bool {
        let outcomes = ["configuration reloaded", "configuration reload failed; the running configuration is kept"]
        let before = ServiceLogLine.lines(of: log).filter { outcomes.contains($0["msg"] ?? "") }.count
        kill(process.processIdentifier, SIGHUP)
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let seen = ServiceLogLine.lines(of: log).filter { outcomes.contains($0["msg"] ?? "") }
            if seen.count > before { return seen.last?["msg"] == outcomes[0] }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw DaemonProcessError.notReady(log: log)
    }
}
