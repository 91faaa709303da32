import CZeroMQ
import Foundation

/// One part of a ZeroMQ message. Owns a `zmq_msg_t`, which it closes exactly once when released.
///
/// Sending a frame hands its content to libzmq and leaves the frame empty, so forwarding a
/// received frame to another socket never copies its bytes. Received bytes are not aligned to
/// anything: read them through ``withUnsafeBytes(_:)`` with `loadUnaligned`, or copy them.
public final class ZMQFrame {
    /// Heap-allocated so libzmq always sees the same address for the message it manages.
    let message: UnsafeMutablePointer<zmq_msg_t>

    /// An empty frame (a zero-length part, such as the delimiter after a routing id).
    public init() {
        message = .allocate(capacity: 1)
        zmq_msg_init(message)
    }

    /// A frame of `capacity` bytes, uninitialized, to be filled in place with
    /// ``withUnsafeMutableBytes(_:)``. Throws when libzmq cannot allocate it.
    public convenience init(capacity: Int) throws {
        try self.init(initializingWith: { message throws(ZMQError) in
            guard capacity >= 0 else {
                throw ZMQError(code: EINVAL, operation: "zmq_msg_init_size(\(capacity))")
            }
            if zmq_msg_init_size(message, capacity) != 0 {
                throw ZMQError.last("zmq_msg_init_size(\(capacity))")
            }
        })
    }

    /// The one designated way to make a frame with content: `initialize` sets up the message.
    /// If it throws, the message is set up empty instead, because a class whose stored
    /// properties are all set still runs `deinit` when its initializer throws.
    init(initializingWith initialize: (UnsafeMutablePointer<zmq_msg_t>) throws(ZMQError) -> Void) throws(ZMQError) {
        message = .allocate(capacity: 1)
        do {
            try initialize(message)
        } catch {
            zmq_msg_init(message)
            throw error
        }
    }

    /// A frame holding a copy of `bytes`.
    public convenience init(bytes: some Collection<UInt8>) {
        self.init(copyingCount: bytes.count) { destination in
            if bytes.withContiguousStorageIfAvailable({ destination.copyMemory(from: UnsafeRawBufferPointer($0)) }) == nil {
                _ = destination.initializeMemory(as: UInt8.self, from: bytes)
            }
        }
    }

    /// A frame holding a copy of `data`.
    public convenience init(_ data: Data) {
        self.init(copyingCount: data.count) { destination in
            data.withUnsafeBytes { destination.copyMemory(from: $0) }
        }
    }

    /// A frame holding the UTF-8 bytes of `string`.
    public convenience init(string: String) {
        self.init(bytes: string.utf8)
    }

    /// Shared by the copying initializers. Like `Array`, they treat running out of memory as
    /// fatal; use ``init(capacity:)`` for sizes that come from a peer.
    private convenience init(copyingCount count: Int, fill: (UnsafeMutableRawBufferPointer) -> Void) {
        do {
            try self.init(capacity: count)
        } catch {
            fatalError("ZMQFrame: cannot allocate \(count) bytes: \(error)")
        }
        withUnsafeMutableBytes(fill)
    }

    deinit {
        zmq_msg_close(message)
        message.deallocate()
    }

    /// Number of bytes in the frame.
    public var count: Int { zmq_msg_size(message) }

    /// The frame's bytes, in place. The memory is not aligned beyond one byte.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: zmq_msg_data(message), count: count))
    }

    /// The frame's bytes for filling a frame made with ``init(capacity:)``. Do not write to a
    /// received frame: libzmq may share its content with other messages (e.g. PUB fan-out).
    public func withUnsafeMutableBytes<R>(_ body: (UnsafeMutableRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeMutableRawBufferPointer(start: zmq_msg_data(message), count: count))
    }

    /// A copy of the bytes.
    public var bytes: [UInt8] { withUnsafeBytes { Array($0) } }

    /// A copy of the bytes.
    public var data: Data { withUnsafeBytes { Data($0) } }

    /// The bytes decoded as UTF-8 (invalid sequences become U+FFFD).
    public var string: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }

    /// Whether the part this frame was received as is followed by more parts.
    public var hasMore: Bool { zmq_msg_more(message) != 0 }
}
