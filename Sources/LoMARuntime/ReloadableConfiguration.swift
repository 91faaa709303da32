import Synchronization

/// The configuration a reload hands to the broker thread: written by whoever reloads, read by the
/// broker when it receives `BrokerControl.reload`.
final class ReloadableConfiguration: Sendable {
    private let value: Mutex<ServerConfiguration>

    init(_ configuration: ServerConfiguration) {
        value = Mutex(configuration)
    }

    var current: ServerConfiguration { value.withLock { $0 } }

    func update(_ new: ServerConfiguration) {
        value.withLock { $0 = $0.reloading(new) }
    }
}
