/// A store call that failed. The kinds mirror the protocol's status codes so the daemon can pass
/// them to clients unchanged; the message names the tenant, sequence, field or file at fault.
///
/// Every call that throws leaves the store exactly as it was: validation happens before any
/// change, durable changes go through one LMDB transaction, and the RAM view is only updated
/// after that transaction committed.
public struct StoreError: Error, Equatable, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable {
        /// The sequence does not exist (or has expired).
        case notFound = "not_found"
        /// The request itself is malformed: bad name, bad shape, mismatching model or geometry.
        case invalidArgument = "invalid_argument"
        /// The request is well formed but the store's state forbids it: a position going
        /// backwards, a concurrent change, an existing fork destination, a closed store.
        case failedPrecondition = "failed_precondition"
        /// No room: the RAM budget (memory mode), the LMDB map (durable mode) or a tenant quota.
        case resourceExhausted = "resource_exhausted"
        /// The durable files are unreadable or LMDB failed for a reason the caller cannot fix.
        case `internal` = "internal"
        /// Stored data is damaged: a record failed its checksum, a segment a sequence refers to
        /// is gone, or the data file is truncated. The damaged data is never served; the rest of
        /// the store is unaffected.
        case dataLoss = "data_loss"
        /// The shared tier (Redis) could not be reached, timed out or is failing over, and the
        /// call needs it: a write is not acknowledged, nothing was changed locally. Retry later.
        case unavailable = "unavailable"
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }

    static func notFound(_ message: String) -> StoreError { .init(.notFound, message) }
    static func invalidArgument(_ message: String) -> StoreError { .init(.invalidArgument, message) }
    static func failedPrecondition(_ message: String) -> StoreError { .init(.failedPrecondition, message) }
    static func resourceExhausted(_ message: String) -> StoreError { .init(.resourceExhausted, message) }
    static func internalError(_ message: String) -> StoreError { .init(.internal, message) }
    static func dataLoss(_ message: String) -> StoreError { .init(.dataLoss, message) }
    static func unavailable(_ message: String) -> StoreError { .init(.unavailable, message) }
}
