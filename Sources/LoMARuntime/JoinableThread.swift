import Foundation
import Synchronization

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

/// A value handed once from one thread to another that waits for it.
final class Handoff<Value: Sendable>: Sendable {
    private let ready = DispatchSemaphore(value: 0)
    private let storage = Mutex<Value?>(nil)

    func put(_ value: Value) {
        storage.withLock { $0 = value }
        ready.signal()
    }

    func take() -> Value {
        ready.wait()
        guard let value = storage.withLock({ $0.take() }) else {
            preconditionFailure("Handoff signalled without a value")
        }
        return value
    }
}
