import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sending and receiving frames and multipart messages.
extension ZMQSocket {
    /// Sends one part; `more` marks that further parts of the same message follow.
    /// On success libzmq owns the content and `frame` is left empty; on failure it is unchanged.
    ///
    /// - Returns: false when the send would block (`EAGAIN`): with `dontWait`, or after the
    ///   send timeout. Every other failure throws; ``ZMQError/isTerminated`` means shutdown.
    @discardableResult
    public func send(_ frame: consuming ZMQFrame, more: Bool = false, dontWait: Bool = false) throws -> Bool {
        let flags = (more ? ZMQ_SNDMORE : 0) | (dontWait ? ZMQ_DONTWAIT : 0)
        return try transfer(frame, flags: flags, call: zmq_msg_send, operation: "zmq_msg_send")
    }

    /// Sends all parts of one message. libzmq delivers a multipart message whole or not at all,
    /// so with `dontWait` either every frame is sent or (returning false) none is.
    @discardableResult
    public func send(_ message: [ZMQFrame], dontWait: Bool = false) throws -> Bool {
        guard !message.isEmpty else {
            throw ZMQError(code: EINVAL, operation: "zmq_msg_send(a message with no frames)")
        }
        for (index, frame) in message.enumerated() {
            let isLast = index == message.count - 1
            let sent = try send(frame, more: !isLast, dontWait: dontWait)
            if !sent {
                guard index == 0 else {
                    // libzmq only applies back-pressure at the first part, so this means a bug
                    // or a misuse that a caller must hear about rather than a silent half message.
                    throw ZMQError(code: EAGAIN, operation: "zmq_msg_send(part \(index) of \(message.count))")
                }
                return false
            }
        }
        return true
    }

    /// Receives one part (check ``ZMQFrame/hasMore`` for the rest).
    /// - Returns: nil when nothing arrived: with `dontWait`, or after the receive timeout.
    public func receiveFrame(dontWait: Bool = false) throws -> ZMQFrame? {
        let frame = ZMQFrame()
        let received = try transfer(frame, flags: dontWait ? ZMQ_DONTWAIT : 0,
                                    call: zmq_msg_recv, operation: "zmq_msg_recv")
        return received ? frame : nil
    }

    /// Receives all parts of one multipart message.
    /// - Returns: nil when nothing arrived: with `dontWait`, or after the receive timeout.
    public func receiveMessage(dontWait: Bool = false) throws -> [ZMQFrame]? {
        guard let first = try receiveFrame(dontWait: dontWait) else { return nil }
        var parts = [first]
        var last = first
        while last.hasMore {
            // The remaining parts arrived with the first one; blocking cannot wait for a peer.
            guard let next = try receiveFrame() else {
                throw ZMQError(code: EAGAIN, operation: "zmq_msg_recv(part \(parts.count) of a multipart message)")
            }
            parts.append(next)
            last = next
        }
        return parts
    }

    /// The one loop behind send and receive: retries EINTR, maps EAGAIN to false, throws the rest.
    private func transfer(
        _ frame: ZMQFrame,
        flags: Int32,
        call: (UnsafeMutablePointer<zmq_msg_t>?, UnsafeMutableRawPointer?, Int32) -> Int32,
        operation: StaticString
    ) throws -> Bool {
        let socket = try openHandle(for: "\(operation)")
        while true {
            if call(frame.message, socket, flags) >= 0 { return true }
            let code = zmq_errno()
            switch code {
            case EINTR: continue
            case EAGAIN: return false
            default: throw ZMQError(code: code, operation: "\(operation)")
            }
        }
    }
}
