#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A client connection libzmq accepted, known by the descriptor its monitor reported. libzmq owns
/// the descriptor and closes it; the broker only looks at it and, to refuse it, shuts it down
/// (`shutdown(2)`, never `close`), which libzmq sees as the peer hanging up.
struct AcceptedConnection {
    let descriptor: Int32
    /// The socket's inode: tells this connection from a later one given the same descriptor
    /// number after libzmq closed this one without a monitor event.
    let inode: UInt64
    /// Who connected, for the per-peer limit: the uid on ipc, the address on tcp.
    let peer: String

    /// Nil when `descriptor` is no longer a socket on `listener` (an `ipc://` or `tcp://` endpoint
    /// as libzmq reports it): the connection closed before the broker read the event, and the
    /// number may already belong to something else, which must not be touched.
    init?(descriptor: Int32, listener: String) {
        var status = stat()
        guard fstat(descriptor, &status) == 0, (status.st_mode & S_IFMT) == S_IFSOCK else { return nil }
        var local = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &local) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        guard named == 0, let peer = Self.peer(of: descriptor, local: local, listener: listener) else { return nil }
        self.descriptor = descriptor
        inode = UInt64(status.st_ino)
        self.peer = peer
    }

    /// Whether the descriptor still refers to this connection.
    var isOpen: Bool {
        var status = stat()
        return fstat(descriptor, &status) == 0 && UInt64(status.st_ino) == inode
    }

    /// Ends the connection in both directions; libzmq reads end-of-file, drops the connection
    /// and closes the descriptor itself, reporting it as disconnected.
    func shutDown() {
        _ = shutdown(descriptor, Int32(SHUT_RDWR))
    }

    /// The peer's identity when the socket's local address is `listener`'s, else nil.
    private static func peer(of descriptor: Int32, local: sockaddr_storage, listener: String) -> String? {
        switch Int32(local.ss_family) {
        case AF_UNIX:
            let path = withUnsafeBytes(of: local) { raw -> String in
                let offset = MemoryLayout<sockaddr_un>.offset(of: \.sun_path) ?? 2
                // A Linux abstract name starts with a NUL, which libzmq writes as '@'.
                if raw[offset] == 0 {
                    return "@" + String(decoding: raw[(offset + 1)...].prefix { $0 != 0 }, as: UTF8.self)
                }
                return String(decoding: raw[offset...].prefix { $0 != 0 }, as: UTF8.self)
            }
            guard listener == "ipc://" + path else { return nil }
            // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (Glibc hides the type behind
            // _GNU_SOURCE, so its three 32-bit fields are read as such).
            var credentials = [UInt32](repeating: 0, count: 3)
            var length = socklen_t(MemoryLayout<UInt32>.size * credentials.count)
            guard getsockopt(descriptor, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else { return nil }
            return "uid \(credentials[1])"
        case AF_INET, AF_INET6:
            guard let port = listener.split(separator: ":").last.flatMap({ UInt16($0) }), port == localPort(local) else { return nil }
            return remoteHost(of: descriptor) ?? "unknown address"
        default:
            return nil
        }
    }

    private static func localPort(_ address: sockaddr_storage) -> UInt16 {
        withUnsafeBytes(of: address) { raw in
            // sin_port and sin6_port sit at the same offset, in network order.
            UInt16(bigEndian: raw.loadUnaligned(fromByteOffset: MemoryLayout<sockaddr_in>.offset(of: \.sin_port) ?? 2, as: UInt16.self))
        }
    }

    private static func remoteHost(of descriptor: Int32) -> String? {
        var remote = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let named = withUnsafeMutablePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getpeername(descriptor, $0, &length) }
        }
        guard named == 0 else { return nil }
        var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
        let resolved = withUnsafePointer(to: &remote) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getnameinfo($0, length, &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
            }
        }
        guard resolved == 0 else { return nil }
        return String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
