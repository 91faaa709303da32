/// What other threads ask of the broker, sent as one frame to its inproc control socket: the
/// broker's sockets belong to its thread, so it is the broker that acts.
enum BrokerControl: String {
    /// Stop accepting, answer what was accepted, return from `run`.
    case stop
    /// Take the settings in `ReloadableConfiguration` (SIGHUP).
    case reload
}
