#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit (`RLIMIT_NOFILE`), and how many client connections it leaves
/// room for. libzmq must never meet the limit: its ipc listener aborts the process when `accept`
/// fails with `EMFILE` (libzmq 4.3.4, src/ipc_listener.cpp) and its tcp listener retries the same
/// failing `accept` in a busy loop. So the broker refuses connections well before the limit
/// (`ConnectionGate`), and this is the one place that reads or changes the limit.
public enum DescriptorLimit {
    /// Descriptors kept for everything that is not a client connection: the store's files,
    /// model files while they load, logs, libzmq's own signalling descriptors for every socket
    /// and thread, the metrics port and its scrapes.
    public static let reserved = 128

    /// The soft limit now, or nil when it is unlimited (`RLIM_INFINITY`, all ones) or cannot be read.
    public static var current: Int? {
        var limit = rlimit()
        guard getrlimit(Self.resource, &limit) == 0, limit.rlim_cur != rlim_t.max else { return nil }
        return Int(clamping: limit.rlim_cur)
    }

    /// Raises the soft limit to the hard one (what systemd's `LimitNOFILE=` or `ulimit -Hn` allow),
    /// so the daemon can serve as many connections as the administrator permits, and returns the
    /// soft limit in force afterwards. A failure leaves the limit as it was.
    @discardableResult
    public static func raiseToHardLimit() -> Int? {
        var limit = rlimit()
        guard getrlimit(Self.resource, &limit) == 0 else { return current }
        if limit.rlim_cur != limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            _ = setrlimit(Self.resource, &limit)
        }
        return current
    }

    /// Monitor events that may wait unread before libzmq's I/O thread blocks on sending the next
    /// (the monitor pipe's high-water mark, 1 + 1000, rounded up): the most connections libzmq
    /// can accept that the broker has not yet seen (`ConnectionGate`).
    public static let monitorBacklog = 1024

    /// Client connections a daemon may hold under a soft limit of `descriptors`. The broker
    /// refuses a connection only after libzmq has accepted it, so besides the reserve two
    /// backlogs' worth stay free: connections accepted but not yet seen by the broker (at most
    /// `monitorBacklog`), and connections it has refused that libzmq has not closed yet (at most
    /// the events of one batch, closed on the I/O thread's next pass).
    public static func maxConnections(descriptors: Int) -> Int {
        max(0, descriptors - reserved - 2 * monitorBacklog)
    }

    /// Past this many connections libzmq's per-connection buffers (tens of KiB each) cost more
    /// memory than the descriptors are worth, so the default stops here even when the limit is
    /// far higher (containers often allow a million descriptors).
    public static let defaultCeiling = 32_768

    /// `limits.max_connections` when not configured: what the current limit carries, up to
    /// `defaultCeiling`.
    public static var defaultMaxConnections: Int {
        min(largestSafeMaxConnections, defaultCeiling)
    }

    /// The most connections `max_connections` may be set to under the current limit; an
    /// unlimited or unreadable limit imposes none.
    public static var largestSafeMaxConnections: Int {
        current.map { maxConnections(descriptors: $0) } ?? Int.max
    }

    #if canImport(Glibc)
    private static let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif
}
