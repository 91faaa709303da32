import Synchronization

/// LMDB forbids opening one environment twice in a process (closing either copy drops the other's
/// POSIX locks), so the store claims each directory while it is open and refuses a second claim.
enum OpenDirectories {
    private static let claimed = Mutex<Set<String>>([])

    static func claim(_ path: String) throws(StoreError) {
        let inserted = claimed.withLock { $0.insert(path).inserted }
        guard inserted else {
            throw .failedPrecondition("store directory \(path) is already open in this process; close the other store first")
        }
    }

    static func release(_ path: String) {
        _ = claimed.withLock { $0.remove(path) }
    }
}
