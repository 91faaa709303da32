#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A filled-in `sockaddr_un`, shared by the ipc-socket probe (daemon and client), the systemd
/// notifier and the tests' raw clients, so the path-length check and the Linux abstract-namespace
/// rule (`@name`) live in one place.
public struct UnixSocketAddress {
    private(set) var storage = sockaddr_un()
    let length: socklen_t

    /// - Parameter path: a socket file, or `@name` for a Linux abstract socket (what systemd
    ///   passes in `$NOTIFY_SOCKET` when it runs in a container).
    /// - Returns: nil when the path does not fit in `sun_path`.
    public init?(path: String) {
        var bytes = Array(path.utf8)
        let abstract = bytes.first == UInt8(ascii: "@")
        if abstract { bytes[0] = 0 }
        let capacity = MemoryLayout.size(ofValue: storage.sun_path)
        guard !bytes.isEmpty, bytes.count < capacity else { return nil }
        storage.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &storage.sun_path) { $0.copyBytes(from: bytes) }
        let pathOffset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? 2
        // Abstract names are exactly their bytes; file paths are NUL-terminated.
        length = socklen_t(pathOffset + bytes.count + (abstract ? 0 : 1))
    }

    public func withSockaddr<Result>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> Result) -> Result {
        withUnsafePointer(to: storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }
}
