/// Why the daemon could not start: the message names the endpoint, file or setting to fix.
public struct DaemonError: Error, CustomStringConvertible {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
