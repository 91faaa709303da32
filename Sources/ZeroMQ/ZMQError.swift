import CZeroMQ

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A failed libzmq call, carrying the `errno` value libzmq reported and the call that failed.
///
/// Callers mostly need two questions answered, so they are properties rather than codes to
/// compare: did the context shut down (stop serving, close the socket) and would the call have
/// blocked (try again later).
public struct ZMQError: Error, Equatable, CustomStringConvertible {
    /// The `errno` value (libzmq's own codes such as `ETERM` live above `ZMQ_HAUSNUMERO`).
    public let code: Int32
    /// The call that failed, with the argument that explains it, e.g. `zmq_bind(ipc:///tmp/x)`.
    public let operation: String

    public init(code: Int32, operation: String) {
        self.code = code
        self.operation = operation
    }

    /// `ETERM`: the context is shutting down. The owner of the socket should close it so that
    /// `ZMQContext.terminate()` can return.
    public var isTerminated: Bool { code == ETERM }

    /// `EAGAIN`: a non-blocking call (or one with a timeout) found nothing to do.
    public var isWouldBlock: Bool { code == EAGAIN }

    public var description: String {
        let reason = zmq_strerror(code).map { String(cString: $0) } ?? "unknown error"
        return "\(operation) failed: \(reason) (errno \(code))"
    }

    /// The error libzmq just reported on this thread for `operation`.
    static func last(_ operation: @autoclosure () -> String) -> ZMQError {
        ZMQError(code: zmq_errno(), operation: operation())
    }
}

/// Runs a libzmq call until it stops failing with `EINTR`, so a signal delivered to the process
/// (for example SIGTERM handled by the daemon) never surfaces as a spurious error.
///
/// Returns the call's non-negative result, or throws the error it failed with. The operation
/// text is only built when the call fails, keeping the hot send/receive path free of string work.
@inline(__always)
func retryingOnInterrupt(_ operation: @autoclosure () -> String, _ call: () -> Int32) throws(ZMQError) -> Int32 {
    while true {
        let result = call()
        if result >= 0 { return result }
        let code = zmq_errno()
        if code != EINTR { throw ZMQError(code: code, operation: operation()) }
    }
}
