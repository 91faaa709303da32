import CZeroMQ

/// Zero-copy frames: libzmq sends straight from the caller's buffer.
extension ZMQFrame {
    /// A frame that refers to `buffer` without copying it. libzmq reads the buffer until it is
    /// done with the message and then calls `release` exactly once, so `buffer` must stay valid
    /// and unchanged until then.
    ///
    /// `release` runs on whichever thread drops libzmq's last reference: its I/O thread after a
    /// tcp/ipc send, the receiving thread for inproc (the receiver reads the same memory), or the
    /// owner's thread if the frame is released unsent. Hence `@Sendable`.
    /// If this initializer throws, `release` has already been called.
    public convenience init(noCopy buffer: UnsafeRawBufferPointer, release: @escaping @Sendable () -> Void) throws {
        let box = Unmanaged.passRetained(NoCopyRelease(release)).toOpaque()
        do {
            try self.init(initializingWith: { message throws(ZMQError) in
                let result = zmq_msg_init_data(
                    message, UnsafeMutableRawPointer(mutating: buffer.baseAddress), buffer.count,
                    releaseNoCopyBuffer, box)
                if result != 0 { throw ZMQError.last("zmq_msg_init_data(\(buffer.count) bytes)") }
            })
        } catch {
            releaseNoCopyBuffer(nil, box)
            throw error
        }
    }
}

/// Carries the Swift closure through libzmq's `void *hint`.
private final class NoCopyRelease: Sendable {
    let release: @Sendable () -> Void

    init(_ release: @escaping @Sendable () -> Void) {
        self.release = release
    }
}

/// libzmq's free function for zero-copy frames; balances the retain taken when the frame was made.
private func releaseNoCopyBuffer(_ data: UnsafeMutableRawPointer?, _ hint: UnsafeMutableRawPointer?) {
    guard let hint else { return }
    Unmanaged<NoCopyRelease>.fromOpaque(hint).takeRetainedValue().release()
}
