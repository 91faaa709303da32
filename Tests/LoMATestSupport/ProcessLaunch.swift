import Foundation
import Synchronization

/// The one place tests start child processes. Foundation's `Process.run()` can crash when
/// several threads launch processes at once (seen as a bad pointer dereference inside `run()`
/// while parallel tests each started a daemon), so launches are serialised; the children still
/// run concurrently.
public enum ProcessLaunch {
    private static let lock = Mutex(())

    public static func run(_ process: Process) throws {
        try lock.withLock { _ in try process.run() }
    }
}
