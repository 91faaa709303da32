#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// A POSIX shared-memory object a test creates by hand, with whatever contents, mode and owner
/// the test needs (a well-behaved client never makes the bad ones), removed when dropped.
public final class TestSharedMemorySegment: @unchecked Sendable {
    public let name: String
    public let descriptor: Int32

    /// - Parameters:
    ///   - bytes: the contents; the object is exactly this long.
    ///   - mode: permission bits, set with `fchmod` so the umask does not change them.
    public init(_ bytes: [UInt8], mode: mode_t = 0o600, tag: String = "test") throws {
        name = "/lomad-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        descriptor = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0o600)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        guard fchmod(descriptor, mode) == 0, ftruncate(descriptor, off_t(bytes.count)) == 0 else {
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        let written = bytes.withUnsafeBytes { pwrite(descriptor, $0.baseAddress, $0.count, 0) }
        guard written == bytes.count else { throw POSIXError(.EIO) }
    }

    deinit {
        close(descriptor)
        shm_unlink(name)
    }

    /// Truncates or extends the object (extending adds zeros).
    public func resize(to count: Int) {
        _ = ftruncate(descriptor, off_t(count))
    }

    /// Gives the object to `uid` (needs root).
    public func chown(to uid: uid_t) throws {
        guard fchown(descriptor, uid, gid_t(uid)) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EPERM) }
    }

    public var size: Int {
        var status = stat()
        return fstat(descriptor, &status) == 0 ? Int(status.st_size) : -1
    }

    /// Whether a shared-memory object of this name exists.
    public static func exists(_ name: String) -> Bool {
        FileManager.default.fileExists(atPath: "/dev/shm" + name)
    }
}
