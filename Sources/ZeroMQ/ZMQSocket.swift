import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A libzmq socket. libzmq sockets are not thread-safe, so this type is deliberately not
/// `Sendable`: it belongs to one thread at a time.
///
/// To give a thread its own socket, create the socket on that thread from the shared
/// ``ZMQContext`` (which is `Sendable`), e.g. `Thread { let socket = try ZMQSocket(context:
/// context, type: .dealer) ... }`. Sockets talk to each other across threads through `inproc://`
/// endpoints, never by sharing the object.
///
/// A socket keeps its context alive and closes itself when released; see ``ZMQContext`` for how
/// the owner thread should react to shutdown.
public final class ZMQSocket {
    /// The context this socket belongs to, retained so the context cannot be terminated and
    /// freed underneath an open socket.
    public let context: ZMQContext
    public let type: SocketType

    /// The libzmq socket, or nil once closed.
    private var handle: UnsafeMutableRawPointer?

    /// Creates a socket with linger 0: on close, unsent messages are dropped instead of keeping
    /// `zmq_ctx_term` waiting for a peer that may never come. Raise it with ``setLinger(_:)``
    /// where delivery after close matters (e.g. a PUSH that sends and exits).
    public init(context: ZMQContext, type: SocketType) throws {
        self.context = context
        self.type = type
        self.handle = try context.makeSocketHandle(type: type.rawType)
        try setLinger(0)
    }

    deinit {
        close()
    }

    /// Closes the socket; idempotent. Pending outgoing messages are kept for the linger time,
    /// in libzmq's I/O thread, after this returns.
    public func close() {
        guard let handle else { return }
        zmq_close(handle)
        self.handle = nil
    }

    /// Whether ``close()`` has been called.
    public var isClosed: Bool { handle == nil }

    /// The open libzmq socket for `operation`, or `ENOTSOCK` if this socket has been closed.
    func openHandle(for operation: @autoclosure () -> String) throws(ZMQError) -> UnsafeMutableRawPointer {
        guard let handle else { throw ZMQError(code: ENOTSOCK, operation: operation()) }
        return handle
    }

    public func bind(_ endpoint: String) throws {
        try endpointCall("zmq_bind", endpoint, zmq_bind)
    }

    public func connect(_ endpoint: String) throws {
        try endpointCall("zmq_connect", endpoint, zmq_connect)
    }

    public func unbind(_ endpoint: String) throws {
        try endpointCall("zmq_unbind", endpoint, zmq_unbind)
    }

    public func disconnect(_ endpoint: String) throws {
        try endpointCall("zmq_disconnect", endpoint, zmq_disconnect)
    }

    /// One helper for the four endpoint calls, so each error names the call and the endpoint.
    private func endpointCall(
        _ name: String,
        _ endpoint: String,
        _ call: (UnsafeMutableRawPointer?, UnsafePointer<CChar>?) -> Int32
    ) throws {
        let socket = try openHandle(for: "\(name)(\(endpoint))")
        _ = try retryingOnInterrupt("\(name)(\(endpoint))") { call(socket, endpoint) }
    }
}
