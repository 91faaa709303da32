import Foundation
import Logging
import LoMAService
import Synchronization

/// `lomad serve` with a broker loop that stops turning: for the tests of what a stuck daemon still
/// guarantees (the systemd watchdog sees the pings stop; libzmq stops accepting connections once
/// nobody reads the monitor, instead of running out of descriptors). The stall comes in through
/// `Daemon`'s package-internal seam, so the installed `lomad` has no way to arm it.
///
///     lomad-test-daemon serve [--endpoint E]... [--set KEY=VALUE]... --stall-broker-after SECONDS
///
/// Exits 78 on a bad setting and 1 when the daemon cannot start, as `lomad serve` does.
@main
enum TestDaemon {
    static func main() {
        let environment = ProcessInfo.processInfo.environment
        let sources: SettingsSources
        let settings: ServiceSettings
        let stallAfter: Duration
        do {
            let arguments = try TestDaemonArguments(CommandLine.arguments.dropFirst())
            stallAfter = arguments.stallAfter
            sources = try SettingsSources(configurationFlag: nil, flags: arguments.assignments, environment: environment)
            settings = try sources.resolve()
        } catch {
            FileHandle.standardError.write(Data("lomad-test-daemon: \(error)\n".utf8))
            exit(Daemon.configurationExitCode)
        }
        let started = Mutex<ContinuousClock.Instant?>(nil)
        let stall: @Sendable () -> Void = {
            let now = ContinuousClock.now
            let first = started.withLock { first in
                if first == nil { first = now }
                return first ?? now
            }
            guard now - first >= stallAfter else { return }
            Logger(label: "lomad").warning("test hook: stalling the broker loop")
            // Blocks the broker thread for good, as a broker stuck in a bad call would.
            while true { sleep(3600) }
        }
        do {
            try Daemon(sources: sources, settings: settings, environment: environment, brokerLoopHook: stall).run()
        } catch {
            exit(1)
        }
    }
}
