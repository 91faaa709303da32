/// Every failure reading or writing tensors reports, and the engine's failures too (LoMAModel
/// names this type `LoMAModelError`). The `kind` tells a server whether to blame the client
/// (`input`), the operator's checkpoint (`checkpoint`) or the file system (`io`), so it can pick
/// a status code without parsing messages; the message always names the file, tensor or field.
///
/// One type serves both modules because a KV file and a memory pass fail for the same three
/// reasons, and a caller (the daemon's operations, `lomad compress`) maps them to one status
/// without caring which layer found the problem.
public struct TensorIOError: Error, CustomStringConvertible, Sendable, Equatable {
    public enum Kind: String, Sendable, Equatable {
        /// The request or input file disagrees with the model (a client error).
        case input
        /// The checkpoint folder is broken or unsupported (a load error).
        case checkpoint
        /// Reading or writing a file failed at the operating-system level.
        case io
    }

    public let kind: Kind
    public let message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue) error: \(message)" }

    // `package`: the engine builds its errors with these too.
    package static func input(_ message: String) -> TensorIOError { TensorIOError(.input, message) }
    package static func checkpoint(_ message: String) -> TensorIOError { TensorIOError(.checkpoint, message) }
    package static func io(_ message: String) -> TensorIOError { TensorIOError(.io, message) }
}
