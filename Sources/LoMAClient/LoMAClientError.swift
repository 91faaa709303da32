import LoMAProtocol

/// Failures of the client itself, as opposed to a status the daemon answered with (those are
/// thrown as `StatusError`).
public enum LoMAClientError: Error, CustomStringConvertible {
    /// Nobody listens at the endpoint: the ipc socket file is missing (or is no socket, or is
    /// left from a dead daemon), or the tcp connection was refused. Reported as soon as it is
    /// known, without waiting for the timeout and without retrying.
    case unavailable(endpoint: String, reason: String)
    /// No reply within the timeout on any attempt: the daemon is down, overloaded or unreachable.
    case timeout(endpoint: String, attempts: Int, timeout: Duration)
    /// The daemon answered with something that is not a valid loma.v1 reply.
    case malformedReply(String)
    /// A CURVE endpoint refused this client during the handshake: its key is not in the daemon's
    /// clients file, or the server key it was given is not the daemon's.
    case refused(endpoint: String, reason: String)
    /// A shared-memory segment for talking to a daemon on this host could not be set up.
    case sharedMemory(String)

    public var description: String {
        switch self {
        case let .unavailable(endpoint, reason):
            "no lomad at \(endpoint): \(reason)"
        case let .timeout(endpoint, attempts, timeout):
            "no reply from lomad at \(endpoint) within \(timeout) (\(attempts) attempt\(attempts == 1 ? "" : "s")); is the daemon running?"
        case let .malformedReply(reason):
            "lomad sent a malformed reply: \(reason)"
        case let .refused(endpoint, reason):
            "lomad at \(endpoint) refused this client: \(reason)"
        case let .sharedMemory(reason):
            "could not set up shared memory for lomad: \(reason)"
        }
    }
}
