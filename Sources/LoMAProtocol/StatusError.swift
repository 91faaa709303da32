/// A request that failed with a protocol status: what the daemon puts in a reply and what a
/// client throws when it reads one. Carrying the code (not just text) lets clients branch on it.
public struct StatusError: Error, Equatable, Sendable, CustomStringConvertible {
    public var code: Loma_V1_StatusCode
    public var message: String

    public init(_ code: Loma_V1_StatusCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.name): \(message)" }

    public static func invalidArgument(_ message: String) -> StatusError { .init(.invalidArgument, message) }
    public static func notFound(_ message: String) -> StatusError { .init(.notFound, message) }
    public static func failedPrecondition(_ message: String) -> StatusError { .init(.failedPrecondition, message) }
    public static func permissionDenied(_ message: String) -> StatusError { .init(.permissionDenied, message) }
    public static func resourceExhausted(_ message: String) -> StatusError { .init(.resourceExhausted, message) }
    public static func unavailable(_ message: String) -> StatusError { .init(.unavailable, message) }
    public static func unimplemented(_ message: String) -> StatusError { .init(.unimplemented, message) }
    public static func internalError(_ message: String) -> StatusError { .init(.internal, message) }
    public static func dataLoss(_ message: String) -> StatusError { .init(.dataLoss, message) }

    /// The status as it travels in a reply envelope.
    public var status: Loma_V1_Status {
        var status = Loma_V1_Status()
        status.code = code
        status.message = message
        return status
    }
}

extension Loma_V1_StatusCode {
    /// The lower-case name used in logs, stats and command-line output (`invalid_argument`).
    public var name: String {
        switch self {
        case .ok: "ok"
        case .invalidArgument: "invalid_argument"
        case .notFound: "not_found"
        case .failedPrecondition: "failed_precondition"
        case .resourceExhausted: "resource_exhausted"
        case .unauthenticated: "unauthenticated"
        case .permissionDenied: "permission_denied"
        case .unavailable: "unavailable"
        case .internal: "internal"
        case .unimplemented: "unimplemented"
        case .dataLoss: "data_loss"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }
}
