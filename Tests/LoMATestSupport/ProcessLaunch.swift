import Foundation
import Synchronization

/// Serialises `Process.run()`: Foundation on Linux can crash when several threads launch
/// processes at once, which tests running in parallel (daemons, redis-server, lomactl) do.
public enum ProcessLaunch {
    private static let lock = Mutex(())

    public static func run(_ process: Process) throws {
        try lock.withLock { _ in try process.run() }
    }
}
