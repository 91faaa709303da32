import Foundation
import Synchronization

/// Runs blocking libzmq work on a dedicated thread, never on Swift's cooperative pool (which
/// the design reserves for non-blocking work), and turns a hang into a failure.
public enum ZMQTestThread {
    /// Thrown when `body` has not finished within the timeout. The thread is left blocked; the
    /// test fails instead of hanging the whole run.
    public struct TimeoutError: Error, CustomStringConvertible {
        public let label: String
        public let timeout: Duration
        public var description: String { "\(label) did not finish within \(timeout)" }
    }

    /// Runs `body` on a new thread and returns (or throws) what it returns (or throws).
    /// Sockets used inside must be created inside, on that thread.
    public static func run<T: Sendable>(
        _ label: String = "zmq test thread",
        timeout: Duration = .seconds(60),
        _ body: @escaping @Sendable () throws -> T
    ) async throws -> T {
        let outcome = Outcome<T>()
        let timer = Task {
            try await Task.sleep(for: timeout)
            outcome.finish(.failure(TimeoutError(label: label, timeout: timeout)))
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            outcome.install(continuation)
            let thread = Thread { outcome.finish(Result { try body() }) }
            thread.name = label
            thread.start()
        }
    }
}

/// Delivers the first of (thread result, timeout) to the awaiting test, whichever order the
/// continuation and the result arrive in.
private final class Outcome<T: Sendable>: Sendable {
    private enum State {
        case pending
        case awaiting(CheckedContinuation<T, any Error>)
        case finished(Result<T, any Error>)
        case delivered
    }

    private let state = Mutex(State.pending)

    func install(_ continuation: CheckedContinuation<T, any Error>) {
        let ready = state.withLock { state -> Result<T, any Error>? in
            switch state {
            case .pending:
                state = .awaiting(continuation)
                return nil
            case .finished(let result):
                state = .delivered
                return result
            case .awaiting, .delivered:
                preconditionFailure("continuation installed twice")
            }
        }
        if let ready { continuation.resume(with: ready) }
    }

    func finish(_ result: Result<T, any Error>) {
        let waiting = state.withLock { state -> CheckedContinuation<T, any Error>? in
            switch state {
            case .pending:
                state = .finished(result)
                return nil
            case .awaiting(let continuation):
                state = .delivered
                return continuation
            case .finished, .delivered:
                return nil
            }
        }
        waiting?.resume(with: result)
    }
}

/// Thrown by ``received(_:_:)`` when a receive with a timeout came back empty.
public struct ZMQNothingReceived: Error, CustomStringConvertible {
    public let what: String
    public var description: String { "nothing received: \(what)" }
}

/// Unwraps the result of a receive made with a timeout. `#require` cannot be used on a
/// ``ZMQTestThread`` thread (issues are attributed through task-locals that a `Thread` lacks),
/// so thread bodies throw this instead and the test checks values after the thread returns.
public func received<T>(_ value: T?, _ what: @autoclosure () -> String) throws -> T {
    guard let value else { throw ZMQNothingReceived(what: what()) }
    return value
}
