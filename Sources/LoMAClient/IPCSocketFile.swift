#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Checks on an ipc endpoint's socket file, so that "no daemon" is known at once instead of after
/// the timeouts: libzmq keeps retrying a missing or dead socket quietly.
enum IPCSocketFile {
    /// Why `path` cannot be a running daemon's socket, or nil when it may be one.
    static func problem(at path: String) -> String? {
        var status = stat()
        guard stat(path, &status) == 0 else {
            let error = errno
            if error == ENOENT || error == ENOTDIR {
                return "the socket file does not exist (is lomad running?)"
            }
            // Permission problems and the like: let the connection say what it can.
            return nil
        }
        guard status.st_mode & S_IFMT == S_IFSOCK else {
            return "\(path) is not a socket (is the endpoint right?)"
        }
        return nil
    }

    /// Whether a connection to `path` is refused outright (ECONNREFUSED: no process listens on
    /// it). A full listen backlog (EAGAIN) or a successful connection counts as someone there.
    static func refusesConnections(at path: String) -> Bool {
        var address = sockaddr_un()
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: address.sun_path)
        guard bytes.count < capacity else { return false }
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: bytes) }
        #if canImport(Glibc)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let descriptor = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result != 0 && (errno == ECONNREFUSED || errno == ENOENT)
    }
}
