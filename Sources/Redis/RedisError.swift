/// A Redis call that failed, sorted by what the caller can do about it.
public struct RedisError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The server could not be reached, the connection broke, or a call timed out: the
        /// server may be down, slow or failing over. Retry later; nothing is known about
        /// whether a write that was in flight happened.
        case unavailable
        /// The server answered with an error reply (a wrong type, a script error, an ACL denial).
        case server
        /// The URL or another client setting is wrong; retrying cannot help.
        case configuration
        /// The server's reply was not what the command returns.
        case protocolViolation = "protocol"
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}
