import Foundation

/// The service manager's side of sd_notify for tests: a datagram socket of the test's own, whose
/// path goes into the daemon's `NOTIFY_SOCKET`; each datagram is one notification
/// (`READY=1\nSTATUS=...`).
public final class ServiceNotifyListener: @unchecked Sendable {
    public let path: String
    private let fd: Int32
    private let directory: TemporaryDirectory

    public struct Notification: Sendable {
        public let fields: [String: String]
        /// When it arrived, for interval checks.
        public let arrival: ContinuousClock.Instant

        public subscript(key: String) -> String? { fields[key] }
    }

    public init() throws {
        directory = try TemporaryDirectory("lomad-notify")
        path = directory.url.appendingPathComponent("n.sock").path
        fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else {
            close(fd)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
    }

    deinit {
        close(fd)
        directory.remove()
    }

    /// The environment that points a daemon here, with a watchdog when `watchdog` is given.
    public func environment(watchdog: Duration? = nil) -> [String: String] {
        var environment = ["NOTIFY_SOCKET": path]
        if let watchdog {
            environment["WATCHDOG_USEC"] = "\(watchdog.components.seconds * 1_000_000 + watchdog.components.attoseconds / 1_000_000_000_000)"
        }
        return environment
    }

    /// The next notification, or nil when none comes within `timeout`.
    public func next(timeout: Duration) -> Notification? {
        let deadline = ContinuousClock.now + timeout
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let remaining = deadline - .now
            guard remaining > .zero else { return nil }
            var waiting = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let milliseconds = Int32(clamping: remaining.components.seconds * 1000 + remaining.components.attoseconds / 1_000_000_000_000_000 + 1)
            guard poll(&waiting, 1, milliseconds) > 0 else { continue }
            let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { continue }
            var fields: [String: String] = [:]
            for line in String(decoding: buffer.prefix(count), as: UTF8.self).split(separator: "\n") {
                let parts = line.split(separator: "=", maxSplits: 1).map(String.init)
                fields[parts[0]] = parts.count == 2 ? parts[1] : ""
            }
            return Notification(fields: fields, arrival: .now)
        }
    }

    /// Notifications until one has `key` (returned last), or nil after `timeout`.
    public func notifications(until key: String, timeout: Duration) -> [Notification]? {
        let deadline = ContinuousClock.now + timeout
        var seen: [Notification] = []
        while let notification = next(timeout: deadline - .now) {
            seen.append(notification)
            if notification[key] != nil { return seen }
        }
        return nil
    }
}
