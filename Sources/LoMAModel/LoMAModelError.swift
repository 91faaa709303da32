/// Every failure the engine reports. The `kind` tells a server whether to blame the client
/// (`input`), the operator's checkpoint (`checkpoint`) or the file system (`io`), so it can pick
/// a status code without parsing messages; the message always names the file, tensor or field.
public struct LoMAModelError: Error, CustomStringConvertible, Sendable, Equatable {
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

    static func input(_ message: String) -> LoMAModelError { LoMAModelError(.input, message) }
    static func checkpoint(_ message: String) -> LoMAModelError { LoMAModelError(.checkpoint, message) }
    static func io(_ message: String) -> LoMAModelError { LoMAModelError(.io, message) }
}
