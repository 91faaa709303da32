#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LoMAProtocol
import ZeroMQ

/// A client's POSIX shared-memory object, opened by a worker for one request after checking that
/// the connection's uid owns it, that it is a regular file nobody else may read or write, and
/// that it is as large as the request says.
///
/// Bytes move with `pread`/`pwrite`, never through a mapping: a client can shrink its object
/// (`ftruncate`) at any moment, and a read through a mapping past the new end raises SIGBUS in
/// the daemon, while `pread` just returns fewer bytes, which is answered as an error. (A memfd
/// sealed against shrinking would allow a mapping, but its descriptor would have to be passed
/// over the socket, which ZeroMQ cannot do.) The cost is one kernel copy each way, which a
/// received ZeroMQ frame costs too.
final class SharedMemorySegment {
    let name: String
    let role: String
    /// Bytes the object held when it was opened.
    let size: Int
    private let descriptor: Int32

    /// - Parameters:
    ///   - role: the request field naming it, for errors (`shared_memory.input_segment`).
    ///   - writable: open for writing (a reply segment) instead of read-only.
    ///   - ownerUID: the uid the kernel reported for the connection; the object must be its.
    ///   - required: bytes the request uses from offset 0; the object must hold at least these.
    /// - Throws: `StatusError` saying which check failed.
    init(name: String, role: String, writable: Bool, ownerUID: UInt32, required: Int) throws {
        try SharedMemoryName.validate(name, role: role)
        self.name = name
        self.role = role
        let flags = (writable ? O_RDWR : O_RDONLY) | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK
        let descriptor = open(SharedMemoryName.path(of: name), flags)
        guard descriptor >= 0 else {
            let code = errno
            switch code {
            case ENOENT: throw StatusError.notFound("\(role) '\(name)' does not exist (create it with shm_open before the request)")
            case ELOOP: throw StatusError.permissionDenied("\(role) '\(name)' is a symbolic link; lomad opens only the shared-memory object itself")
            case EACCES: throw StatusError.permissionDenied("\(role) '\(name)' cannot be opened by lomad (\(String(cString: strerror(code))))")
            default: throw StatusError.invalidArgument("\(role) '\(name)' cannot be opened: \(String(cString: strerror(code)))")
            }
        }
        self.descriptor = descriptor
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            let code = errno
            close(descriptor)
            throw StatusError.internalError("fstat of \(role) '\(name)' failed: \(String(cString: strerror(code)))")
        }
        size = Int(status.st_size)
        do {
            try Self.check(status, role: role, name: name, ownerUID: ownerUID, required: required)
        } catch {
            close(descriptor)
            throw error
        }
    }

    deinit {
        close(descriptor)
    }

    private static func check(_ status: stat, role: String, name: String, ownerUID: UInt32, required: Int) throws {
        guard (status.st_mode & S_IFMT) == S_IFREG else {
            throw StatusError.invalidArgument("\(role) '\(name)' is not a regular shared-memory object")
        }
        guard UInt32(status.st_uid) == ownerUID else {
            throw StatusError.permissionDenied(
                "\(role) '\(name)' belongs to uid \(status.st_uid), not to uid \(ownerUID) of this connection; lomad reads and writes only a client's own segments")
        }
        let access = UInt32(status.st_mode) & 0o077
        guard access == 0 else {
            throw StatusError.permissionDenied(
                "\(role) '\(name)' has mode 0\(String(UInt32(status.st_mode) & 0o777, radix: 8)): a segment must be private to its owner (0600), so that no other user can read or change a request's tensors")
        }
        guard Int(status.st_size) >= required else {
            throw StatusError.invalidArgument("\(role) '\(name)' holds \(status.st_size) bytes, but the request uses \(required)")
        }
    }

    /// Copies `span` out of the object into a new frame.
    /// - Throws: `StatusError` when the object no longer holds the span (the client shrank it).
    func read(_ span: SharedMemoryRange, frame index: Int) throws -> ZMQFrame {
        let frame = try ZMQFrame(capacity: span.length)
        let copied = frame.withUnsafeMutableBytes { buffer in
            transfer(count: span.length, at: span.offset) { done, offset in
                pread(descriptor, buffer.baseAddress.map { $0 + done }, span.length - done, off_t(offset))
            }
        }
        guard copied == span.length else {
            throw StatusError.invalidArgument(
                "\(role) '\(name)' shrank while lomad read frame \(index) (bytes \(span.offset)..<\(span.offset + span.length)): \(copied) of \(span.length) bytes were there; keep a segment whole until its reply arrives")
        }
        return frame
    }

    /// Writes `frame` at `offset`; the caller has checked it fits the capacity the request gave.
    func write(_ frame: ZMQFrame, at offset: Int) throws {
        let written = frame.withUnsafeBytes { buffer in
            transfer(count: buffer.count, at: offset) { done, position in
                pwrite(descriptor, buffer.baseAddress.map { $0 + done }, buffer.count - done, off_t(position))
            }
        }
        guard written == frame.count else {
            throw StatusError.invalidArgument("\(role) '\(name)' took \(written) of \(frame.count) bytes of the reply: \(String(cString: strerror(errno)))")
        }
    }

    /// Repeats `step(done, offset + done)` until `count` bytes moved, end of file or an error;
    /// returns the bytes moved.
    private func transfer(count: Int, at offset: Int, _ step: (Int, Int) -> Int) -> Int {
        var done = 0
        while done < count {
            let moved = step(done, offset + done)
            if moved > 0 {
                done += moved
            } else if moved < 0 && errno == EINTR {
                continue
            } else {
                break
            }
        }
        return done
    }
}

/// A byte range of a segment, checked: offset and length fit `Int` and do not overflow together.
struct SharedMemoryRange {
    let offset: Int
    let length: Int
    var end: Int { offset + length }

    init(_ span: Loma_V1_SharedMemorySpan, role: String) throws {
        guard span.offset <= UInt64(Int.max), span.length <= UInt64(Int.max),
              case let (end, overflow) = Int(span.offset).addingReportingOverflow(Int(span.length)), !overflow else {
            throw StatusError.invalidArgument("\(role) offset \(span.offset) + length \(span.length) overflows 64 bits")
        }
        _ = end
        offset = Int(span.offset)
        length = Int(span.length)
    }
}
