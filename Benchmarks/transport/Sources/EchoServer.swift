import Dispatch
import Foundation
import Synchronization
import ZeroMQ

/// A ROUTER on its own thread that sends every message back unchanged. Forwarding the received
/// frames moves them, so the echo itself copies nothing, like the C baseline's echo.
///
/// It stops the way every socket owner in lomad does: when the context terminates, the blocked
/// receive throws `isTerminated`, the thread closes its socket and `terminate()` can return.
final class EchoServer: Sendable {
    /// The endpoint clients connect to (for tcp, with the port the kernel chose).
    let endpoint: String

    private let finished: DispatchSemaphore

    /// Starts the echo thread, bound to `bindEndpoint`, and returns once it is listening.
    init(context: ZMQContext, bindEndpoint: String) throws {
        let bound = Mutex<Result<String, any Error>?>(nil)
        let listening = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { finished.signal() }
            let router: ZMQSocket
            do {
                router = try ZMQSocket(context: context, type: .router)
                try router.bind(bindEndpoint)
                let endpoint = try router.lastEndpoint
                bound.withLock { $0 = .success(endpoint) }
            } catch {
                bound.withLock { $0 = .failure(error) }
                listening.signal()
                return
            }
            listening.signal()
            Self.echo(on: router)
        }
        thread.name = "echo \(bindEndpoint)"
        thread.start()
        listening.wait()
        guard let result = bound.withLock({ $0 }) else {
            preconditionFailure("the echo thread signalled without a bind result")
        }
        endpoint = try result.get()
        self.finished = finished
    }

    /// Waits for the echo thread to leave; call after terminating the context.
    func waitUntilStopped() {
        finished.wait()
    }

    private static func echo(on router: ZMQSocket) {
        defer { router.close() }
        do {
            while true {
                if let message = try router.receiveMessage() {
                    try router.send(message)
                }
            }
        } catch let error as ZMQError where error.isTerminated {
            return
        } catch {
            FileHandle.standardError.write(Data("echo server stopped: \(error)\n".utf8))
        }
    }
}
