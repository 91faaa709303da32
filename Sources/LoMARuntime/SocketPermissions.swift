#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Who may connect to the daemon's `ipc://` sockets: connecting to a unix socket needs write
/// permission on its file, so mode 0660 with a clients' group admits that group's members and
/// nobody else (besides the daemon's own user).
public struct SocketPermissions: Sendable, Equatable {
    /// Permission bits, 0o660 unless configured.
    public var mode: UInt16
    /// Group owning the socket files; nil keeps the daemon's own group.
    public var group: String?

    public init(mode: UInt16 = 0o660, group: String? = nil) {
        self.mode = mode
        self.group = group
    }

    /// The group's id, or an error naming the group when it does not exist.
    func groupID() throws -> gid_t? {
        guard let group else { return nil }
        var entry = group_t()
        var result: UnsafeMutablePointer<group_t>?
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        let code = getgrnam_r(group, &entry, &buffer, buffer.count, &result)
        guard code == 0, let found = result else {
            throw DaemonError("socket group '\(group)' does not exist" + (code == 0 ? "" : ": \(String(cString: strerror(code)))"))
        }
        return found.pointee.gr_gid
    }
}

#if canImport(Glibc)
typealias group_t = Glibc.group
#else
typealias group_t = Darwin.group
#endif
