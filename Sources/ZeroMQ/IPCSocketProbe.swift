#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether anything listens on the unix socket behind an `ipc://` endpoint, found by connecting
/// to it once: libzmq itself only retries quietly. The daemon asks before it binds (a live
/// socket is another daemon's; a dead one's leftover file may go), the client when its connection
/// is refused (to tell "nobody listens" from a full listen backlog).
public enum IPCSocketProbe {
    public enum Outcome: Equatable, Sendable {
        /// A process accepts connections there, or will: the connection succeeded, or the listen
        /// backlog is full (EAGAIN).
        case listening
        /// Nobody listens: the file is a dead socket (ECONNREFUSED) or gone (ENOENT).
        case deserted
        /// The probe could not tell (the errno).
        case unknown(Int32)
    }

    /// Connects once, without blocking, and hangs up.
    public static func probe(_ path: String) -> Outcome {
        guard let address = UnixSocketAddress(path: path) else { return .unknown(ENAMETOOLONG) }
        #if canImport(Glibc)
        let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let descriptor = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard descriptor >= 0 else { return .unknown(errno) }
        defer { close(descriptor) }
        guard address.withSockaddr({ connect(descriptor, $0, $1) }) != 0 else { return .listening }
        switch errno {
        case EAGAIN: return .listening
        case ECONNREFUSED, ENOENT: return .deserted
        case let code: return .unknown(code)
        }
    }
}
