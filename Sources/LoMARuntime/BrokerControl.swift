import Synchronization

/// What other threads ask of the broker, sent as one frame to its inproc control socket: the
/// broker's sockets belong to its thread, so it is the broker that acts.
enum BrokerControl: String {
    /// Stop accepting, answer what was accepted, return from `run`.
    case stop
    /// Take the settings in `ReloadableConfiguration` (SIGHUP).
    case reload
}

/// The configuration a reload hands to the broker thread: written by whoever reloads, read by the
/// broker when it receives `BrokerControl.reload`.
final class ReloadableConfiguration: Sendable {
    private let value: Mutex<DaemonConfiguration>

    init(_ configuration: DaemonConfiguration) {
        value = Mutex(configuration)
    }

    var current: DaemonConfiguration { value.withLock { $0 } }

    func update(_ new: DaemonConfiguration) {
        value.withLock { $0 = $0.reloading(new) }
    }
}
