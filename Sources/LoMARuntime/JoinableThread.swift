import Foundation

/// A dedicated OS thread that can be waited for. Blocking libzmq calls and compute run here,
/// never on Swift's cooperative pool, whose few threads must not block.
package final class JoinableThread: Sendable {
    private let finished = DispatchSemaphore(value: 0)

    package init(name: String, body: @escaping @Sendable () -> Void) {
        let finished = self.finished
        let thread = Thread {
            body()
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    package func join() {
        finished.wait()
        finished.signal()
    }
}
