#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

extension IPCSocketFile {
    /// Sets the mode and group of a bound socket file. Runs before the daemon reports ready, so
    /// no client ever sees the file with the process umask's permissions in a ready daemon.
    static func apply(_ permissions: SocketPermissions, to path: String) throws {
        if path.hasPrefix("@") { return }
        if let gid = try permissions.groupID(), chown(path, uid_t.max, gid) != 0 {
            let code = errno
            throw DaemonError("cannot give ipc socket \(path) to group '\(permissions.group ?? "")': \(String(cString: strerror(code)))"
                              + (code == EPERM ? " (the daemon's user must be a member of that group)" : ""))
        }
        guard chmod(path, mode_t(permissions.mode)) == 0 else {
            throw DaemonError("cannot set mode \(String(permissions.mode, radix: 8)) on ipc socket \(path): \(String(cString: strerror(errno)))")
        }
    }
}
