#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LoMAProtocol
@testable import LoMARuntime
import LoMATestSupport
import Testing
import ZeroMQ

/// The daemon's reads of a client segment on real /dev/shm objects, where the end-to-end race
/// (`SharedMemoryTests.shrinkingSegment`) cannot choose its moment: an object that shrinks after
/// it was opened and checked is read with `pread`, which returns what is left (never SIGBUS),
/// and that is a clear error.
@Suite("a worker's reads and writes of a client's shared-memory segment")
struct SharedMemorySegmentTests {
    @Test("an object that shrinks between the checks and the read is an error naming the frame, not a crash")
    func shrinksAfterOpening() throws {
        let object = try TestSharedMemorySegment([UInt8](repeating: 7, count: 4096))
        let segment = try SharedMemorySegment(name: object.name, role: "shared_memory.input_segment", writable: false,
                                              ownerUID: getuid(), required: 4096)
        var span = Loma_V1_SharedMemorySpan()
        span.offset = 1024
        span.length = 2048
        let range = try SharedMemoryRange(span, role: "span")
        #expect(try segment.read(range, frame: 1).bytes == [UInt8](repeating: 7, count: 2048))
        object.resize(to: 1500)
        #expect { try segment.read(range, frame: 2) } throws: { error in
            let status = error as? StatusError
            return status?.code == .invalidArgument && status?.message.contains("shrank while lomad read frame 2") == true
                && status?.message.contains("476 of 2048 bytes") == true
        }
        object.resize(to: 0)
        #expect(throws: StatusError.self) { try segment.read(range, frame: 1) }
    }

    @Test("a reply lands at the span it is given, within what the object holds")
    func writesReply() throws {
        let object = try TestSharedMemorySegment([UInt8](repeating: 0, count: 256))
        let segment = try SharedMemorySegment(name: object.name, role: "shared_memory.reply_segment", writable: true,
                                              ownerUID: getuid(), required: 256)
        try segment.write(ZMQFrame(bytes: [1, 2, 3]), at: 64)
        var readBack = [UInt8](repeating: 0, count: 3)
        #expect(pread(object.descriptor, &readBack, 3, 64) == 3)
        #expect(readBack == [1, 2, 3])
        #expect(object.size == 256)
    }

    @Test("an object of another uid, or larger than it is, is refused before any byte is read")
    func checksOwnerAndSize() throws {
        let object = try TestSharedMemorySegment([UInt8](repeating: 0, count: 100))
        #expect { try SharedMemorySegment(name: object.name, role: "r", writable: false, ownerUID: getuid() &+ 1, required: 10) }
            throws: { ($0 as? StatusError)?.code == .permissionDenied }
        #expect { try SharedMemorySegment(name: object.name, role: "r", writable: false, ownerUID: getuid(), required: 101) }
            throws: { ($0 as? StatusError)?.message.contains("holds 100 bytes, but the request uses 101") == true }
    }
}
