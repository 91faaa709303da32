#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import LoMAProtocol

/// A POSIX shared-memory object this client created (mode 0600, a unique `/lomad-` name) and
/// keeps mapped, through which it passes tensors to and from a daemon on the same host. Removed
/// (`shm_unlink`) when the client lets go of it, so nothing outlives the client but a crash.
final class OwnedSharedMemorySegment {
    let name: String
    private(set) var capacity: Int
    private let descriptor: Int32
    private var mapping: UnsafeMutableRawPointer?

    /// - Throws: `LoMAClientError.sharedMemory` when the object cannot be created or mapped.
    init(role: String, capacity: Int) throws {
        _ = Self.staleRemoved
        var generator = SystemRandomNumberGenerator()
        let name = "\(SharedMemoryName.prefix)\(role)-\(getpid())-\(String(generator.next(), radix: 36))"
        let descriptor = shm_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw LoMAClientError.sharedMemory("shm_open(\(name)): \(String(cString: strerror(errno)))") }
        self.name = name
        self.descriptor = descriptor
        self.capacity = 0
        self.mapping = nil
        do {
            // shm_open applies the umask; the daemon refuses anything but owner-only access.
            guard fchmod(descriptor, 0o600) == 0 else { throw LoMAClientError.sharedMemory("fchmod(\(name)): \(String(cString: strerror(errno)))") }
            try resize(to: capacity)
        } catch {
            close(descriptor)
            shm_unlink(name)
            throw error
        }
    }

    /// Objects a client process left behind when it ended without releasing its client (a crash,
    /// or an exit with the client still referenced): `/lomad-in-PID-…` and `/lomad-out-PID-…` of
    /// this uid whose PID no longer runs. Removed once per process, before its first segment;
    /// a live process's objects are never touched.
    private static let staleRemoved: Void = {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/dev/shm")) ?? []
        for name in names {
            let parts = name.split(separator: "-")
            guard parts.count == 4, parts[0] == "lomad", parts[1] == "in" || parts[1] == "out",
                  let pid = Int32(parts[2]), pid != getpid(), kill(pid, 0) != 0, errno == ESRCH else { continue }
            var status = stat()
            guard lstat("/dev/shm/" + name, &status) == 0, status.st_uid == getuid() else { continue }
            shm_unlink("/" + name)
        }
    }()

    deinit {
        if let mapping { munmap(mapping, capacity) }
        close(descriptor)
        shm_unlink(name)
    }

    /// Grows the object and its mapping to hold at least `needed` bytes (contents are not kept).
    func reserve(_ needed: Int) throws {
        if needed > capacity { try resize(to: max(needed, capacity * 2)) }
    }

    private func resize(to newCapacity: Int) throws {
        if let mapping { munmap(mapping, capacity) }
        mapping = nil
        capacity = 0
        guard ftruncate(descriptor, off_t(newCapacity)) == 0 else {
            throw LoMAClientError.sharedMemory("ftruncate(\(name), \(newCapacity)): \(String(cString: strerror(errno)))")
        }
        let mapped = mmap(nil, newCapacity, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0)
        guard let mapped, mapped != MAP_FAILED else {
            throw LoMAClientError.sharedMemory("mmap(\(name), \(newCapacity)): \(String(cString: strerror(errno)))")
        }
        mapping = mapped
        capacity = newCapacity
    }

    /// The mapped bytes at `offset..<offset + length`; nil when that is outside the object.
    func bytes(offset: Int, length: Int) -> UnsafeMutableRawBufferPointer? {
        guard let mapping, offset >= 0, length >= 0, offset <= capacity, length <= capacity - offset else { return nil }
        return UnsafeMutableRawBufferPointer(start: mapping + offset, count: length)
    }
}
