/// An engine option this machine cannot honour (a kernel whose instructions the CPU lacks).
/// Raised at load, before any weight is read, so a daemon refuses to start instead of running a
/// kernel that would fault.
public struct EngineOptionsError: Error, CustomStringConvertible, Sendable, Equatable {
    public let description: String

    public init(_ description: String) { self.description = description }
}
