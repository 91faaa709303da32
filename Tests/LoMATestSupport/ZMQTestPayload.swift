import Foundation
import Synchronization
import ZeroMQ

/// Test payloads that are cheap to make at 64 MiB and whose every byte depends on a seed, so a
/// frame that was truncated, reordered or mixed with another one does not compare equal.
public enum ZMQTestPayload {
    /// `count` pseudo-random bytes (xorshift64*, seeded).
    public static func bytes(count: Int, seed: UInt64) -> [UInt8] {
        var result = [UInt8](repeating: 0, count: count)
        result.withUnsafeMutableBytes { fill($0, seed: seed) }
        return result
    }

    /// Fills `buffer` with the same sequence ``bytes(count:seed:)`` returns. Word stores keep
    /// this fast enough for 64 MiB in debug builds.
    public static func fill(_ buffer: UnsafeMutableRawBufferPointer, seed: UInt64) {
        var state = seed | 1
        func next() -> UInt64 {
            state ^= state >> 12
            state ^= state << 25
            state ^= state >> 27
            return (state &* 0x2545_F491_4F6C_DD1D).littleEndian
        }
        let wholeWords = buffer.count / 8
        for index in 0..<wholeWords {
            buffer.storeBytes(of: next(), toByteOffset: index * 8, as: UInt64.self)
        }
        var tail = next()
        for offset in (wholeWords * 8)..<buffer.count {
            buffer[offset] = UInt8(truncatingIfNeeded: tail)
            tail >>= 8
        }
    }

    /// Whether `frame` holds exactly `expected` (memcmp, fast even in debug builds).
    public static func frame(_ frame: ZMQFrame, equals expected: UnsafeRawBufferPointer) -> Bool {
        frame.withUnsafeBytes { actual in
            guard actual.count == expected.count else { return false }
            guard let actualBase = actual.baseAddress, let expectedBase = expected.baseAddress else {
                return actual.count == 0
            }
            return memcmp(actualBase, expectedBase, actual.count) == 0
        }
    }

    /// Whether `frame` holds exactly `expected`.
    public static func frame(_ frame: ZMQFrame, equals expected: [UInt8]) -> Bool {
        expected.withUnsafeBytes { self.frame(frame, equals: $0) }
    }
}

/// Counts release callbacks of zero-copy frames, from whatever thread libzmq calls them.
public final class ZMQReleaseCounter: Sendable {
    private let released = Atomic(0)

    public init() {}

    public var count: Int { released.load(ordering: .acquiring) }

    /// A release callback that counts one release; deallocates `buffer` too when given.
    public func callback(deallocating buffer: UnsafeMutableRawBufferPointer? = nil) -> @Sendable () -> Void {
        nonisolated(unsafe) let owned = buffer
        return { [self] in
            owned?.deallocate()
            released.add(1, ordering: .releasing)
        }
    }
}
