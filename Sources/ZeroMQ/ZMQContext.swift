import CZeroMQ
import Synchronization

/// A libzmq context: the I/O threads and the registry of sockets. Thread-safe and meant to be
/// shared by every thread of a process.
///
/// ## Shutting down without hanging
/// `zmq_ctx_term` waits until every socket of the context is closed. Sockets belong to one
/// thread each, so the pattern is:
/// 1. some thread calls ``terminate()`` (or ``shutdown()`` first, to interrupt without waiting);
/// 2. every call blocked in a socket of this context, on any thread, throws a ``ZMQError``
///    whose ``ZMQError/isTerminated`` is true, and every later call does the same;
/// 3. each owner thread reacts by calling ``ZMQSocket/close()`` on its socket (or dropping it)
///    and leaving its loop;
/// 4. ``terminate()`` returns once the last socket is closed.
///
/// Never call ``terminate()`` on a thread that still has an open socket of this context: it
/// would wait for that socket forever. Such a thread calls ``shutdown()``, closes its socket, and
/// then terminates.
///
/// Sockets are created with linger 0 (see ``ZMQSocket/init(context:type:)``), so step 4 never
/// waits for unsent messages to reach a peer that is gone.
public final class ZMQContext: Sendable {
    /// The `void *` from `zmq_ctx_new`. libzmq documents contexts as thread-safe; the pointer is
    /// only freed by `zmq_ctx_term`, which `lifecycle` makes happen once and after which no call
    /// through this class touches it.
    nonisolated(unsafe) private let handle: UnsafeMutableRawPointer

    private struct Lifecycle {
        var isTerminated = false
    }

    /// Orders socket creation and `zmq_ctx_shutdown` against `zmq_ctx_term`, so neither can
    /// touch a context that has been freed.
    private let lifecycle = Mutex(Lifecycle())

    /// - Parameter ioThreads: libzmq I/O threads; one moves about a gigabyte per second.
    public init(ioThreads: Int32 = 1) throws {
        guard let handle = zmq_ctx_new() else { throw ZMQError.last("zmq_ctx_new") }
        self.handle = handle
        // Throwing from here still runs deinit (every stored property is set), which terminates
        // the half-made context; terminating it here too would free it twice.
        if zmq_ctx_set(handle, ZMQ_IO_THREADS, ioThreads) != 0 {
            throw ZMQError.last("zmq_ctx_set(ZMQ_IO_THREADS, \(ioThreads))")
        }
    }

    deinit {
        terminate()
    }

    /// Interrupts every blocked call on every socket of this context (they throw
    /// ``ZMQError/isTerminated``) and makes new sockets fail, without waiting for anything.
    public func shutdown() {
        lifecycle.withLock { state in
            guard !state.isTerminated else { return }
            zmq_ctx_shutdown(handle)
        }
    }

    /// Shuts down and then waits until every socket of the context is closed (see the type's
    /// documentation for what socket owners must do). Idempotent: later calls, including one
    /// racing with the first, return immediately. Sockets keep their context alive, so `deinit`
    /// only runs this once all of them are gone.
    public func terminate() {
        let isFirst = lifecycle.withLock { state -> Bool in
            guard !state.isTerminated else { return false }
            state.isTerminated = true
            return true
        }
        guard isFirst else { return }
        // Only EINTR can make zmq_ctx_term return early; anything else means it is done.
        _ = try? retryingOnInterrupt("zmq_ctx_term") { zmq_ctx_term(handle) }
    }

    /// Creates a libzmq socket unless the context has been terminated.
    func makeSocketHandle(type: Int32) throws(ZMQError) -> UnsafeMutableRawPointer {
        // errno is read inside the lock: taking or releasing the lock may itself clobber it.
        let outcome = lifecycle.withLock { state -> Result<UnsafeMutableRawPointer, ZMQError> in
            guard !state.isTerminated else { return .failure(ZMQError(code: ETERM, operation: "zmq_socket")) }
            guard let socket = zmq_socket(handle, type) else { return .failure(.last("zmq_socket")) }
            return .success(socket)
        }
        return try outcome.get()
    }
}
