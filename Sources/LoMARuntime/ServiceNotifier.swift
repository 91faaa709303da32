#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ZeroMQ

/// Tells the service manager how start-up, reloads and shutdown are going: the `sd_notify`
/// datagram protocol (`READY=1`, `STATUS=...`, `WATCHDOG=1`, `STOPPING=1`), spoken directly over
/// `$NOTIFY_SOCKET`. The protocol is one `KEY=VALUE` line per field in one datagram and has been
/// stable since systemd 1, so lomad needs no libsystemd. Without `$NOTIFY_SOCKET` (not started by
/// systemd with `Type=notify`) every call does nothing.
public struct ServiceNotifier: Sendable {
    private let socketPath: String?
    /// How often the service manager wants `WATCHDOG=1` at the latest (`$WATCHDOG_USEC`), when
    /// it watches this process (`$WATCHDOG_PID`, when set, names this process).
    public let watchdogTimeout: Duration?

    public init(environment: [String: String]) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path
        let watchedPID = environment["WATCHDOG_PID"].flatMap { Int32($0) }
        if path != nil, let microseconds = environment["WATCHDOG_USEC"].flatMap({ Int64($0) }), microseconds > 0,
           watchedPID == nil || watchedPID == getpid() {
            watchdogTimeout = .microseconds(microseconds)
        } else {
            watchdogTimeout = nil
        }
    }

    /// A notifier that sends nothing (tests, embedding).
    public static let disabled = ServiceNotifier(environment: [:])

    public var isEnabled: Bool { socketPath != nil }

    /// Every endpoint is bound and the daemon answers requests.
    public func ready(status: String) { send(["READY=1", "STATUS=\(status)"]) }

    /// Progress a person sees in `systemctl status` while the daemon starts or reloads.
    public func status(_ text: String) { send(["STATUS=\(text)"]) }

    /// The broker loop is alive. Sent only from that loop, so a hung broker stops the pings.
    public func watchdog() { send(["WATCHDOG=1"]) }

    /// Shutdown has begun; systemd stops treating the daemon as running.
    public func stopping() { send(["STOPPING=1", "STATUS=stopping: answering accepted requests"]) }

    /// A reload (SIGHUP) has begun. `MONOTONIC_USEC` lets systemd pair it with the `READY=1`
    /// that ends it.
    public func reloading() {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        let microseconds = Int64(now.tv_sec) * 1_000_000 + Int64(now.tv_nsec) / 1000
        send(["RELOADING=1", "MONOTONIC_USEC=\(microseconds)", "STATUS=reloading configuration"])
    }

    /// Sends one datagram. Failures are ignored on purpose: a service manager that went away
    /// must not take the daemon down with it.
    private func send(_ fields: [String]) {
        guard let socketPath, let address = UnixSocketAddress(path: socketPath) else { return }
        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_DGRAM, 0)
        #endif
        guard fd >= 0 else { return }
        defer { close(fd) }
        let message = Array(fields.joined(separator: "\n").utf8)
        _ = message.withUnsafeBytes { buffer in
            address.withSockaddr { sendto(fd, buffer.baseAddress, buffer.count, Int32(MSG_NOSIGNAL), $0, $1) }
        }
    }
}
