/// The names of the POSIX shared-memory objects (`shm_open`, under `/dev/shm` on Linux) that
/// same-host clients pass tensors through. Both sides check them the same way: the daemon opens
/// nothing a client could steer elsewhere (no `/` after the first, no `..`, no other program's
/// objects), and clients create only names the daemon will accept.
public enum SharedMemoryName {
    /// Every lomad segment name starts with this, so an operator can tell them apart in /dev/shm.
    public static let prefix = "/lomad-"
    /// NAME_MAX for the file under /dev/shm, less the leading `/`.
    public static let maxLength = 255

    /// Checks `name`; `role` names the field in the error (`shared_memory.input_segment`).
    /// - Throws: `StatusError.invalidArgument` saying what is wrong with it.
    public static func validate(_ name: String, role: String) throws {
        let tail = name.utf8.dropFirst(prefix.utf8.count)
        guard name.hasPrefix(prefix), !tail.isEmpty, name.utf8.count <= maxLength,
              tail.allSatisfy(isAllowed), !name.contains("..") else {
            throw StatusError.invalidArgument(
                "\(role) '\(name.prefix(80))' is not a lomad shared-memory name: expected '\(prefix)' then 1 to \(maxLength - prefix.utf8.count) letters, digits, '.', '_' or '-' (no '..')")
        }
    }

    /// The file the object is on Linux, where `shm_open(name)` opens `/dev/shm/<name>`; the
    /// daemon opens the file itself so it can pass `O_NOFOLLOW`.
    public static func path(of name: String) -> String {
        "/dev/shm" + name
    }

    private static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default:
            false
        }
    }
}
