#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import ZeroMQ

/// The file behind an `ipc://` endpoint. libzmq would silently take over a path another daemon
/// is serving, leaving that daemon unreachable, so before binding lomad checks whether something
/// answers there: a live daemon makes it refuse to start, a dead one's leftover file is removed.
enum IPCSocketFile {
    static func claim(_ path: String) throws {
        // Linux abstract sockets have no file.
        if path.hasPrefix("@") { return }
        var info = stat()
        guard lstat(path, &info) == 0 else {
            let directory = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
            if !directory.isEmpty, access(directory, W_OK) != 0 {
                throw DaemonError("cannot create ipc socket \(path): directory \(directory) does not exist or is not writable")
            }
            return
        }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw DaemonError("ipc endpoint \(path) exists and is not a socket; remove it or choose another --endpoint")
        }
        switch IPCSocketProbe.probe(path) {
        case .listening:
            throw DaemonError("another process is serving ipc://\(path); stop it or choose another --endpoint")
        case .deserted:
            guard unlink(path) == 0 || errno == ENOENT else {
                throw DaemonError("cannot remove stale ipc socket \(path): \(String(cString: strerror(errno)))")
            }
        case .unknown(let code):
            throw DaemonError("cannot check ipc socket \(path): \(String(cString: strerror(code)))")
        }
    }

    static func remove(_ path: String) {
        if path.hasPrefix("@") { return }
        unlink(path)
    }
}
