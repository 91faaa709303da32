import Foundation
import Synchronization

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
