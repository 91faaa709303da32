#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A fixed-size block of f32 on a 64-byte boundary (one cache line, the widest vector load), so
/// BLAS and vectorised loops never straddle lines at the start of a row.
///
/// It is `@unchecked Sendable` because the engine writes it only while building a tensor and
/// publishes it afterwards; shared copies are only read.
public final class AlignedStorage: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    /// Zero-filled storage for `count` floats.
    public init(count: Int) {
        self.count = count
        var raw: UnsafeMutableRawPointer?
        let byteCount = max(count, 1) * MemoryLayout<Float>.stride
        guard posix_memalign(&raw, 64, byteCount) == 0, let raw else {
            fatalError("out of memory allocating \(byteCount) bytes")
        }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: byteCount)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
    }

    deinit { free(pointer) }
}
