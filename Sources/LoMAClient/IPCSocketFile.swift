#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ZeroMQ

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

    /// Whether a connection to `path` is refused outright (no process listens on it). A full
    /// listen backlog or a successful connection counts as someone there.
    static func refusesConnections(at path: String) -> Bool {
        IPCSocketProbe.probe(path) == .deserted
    }
}
