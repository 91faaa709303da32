#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A ZeroMQ endpoint the daemon binds or a client connects to. Only the transports lomad serves
/// are accepted, so a typo fails at start-up rather than as a puzzling libzmq error.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    public enum Transport: String, Sendable { case ipc, tcp }

    public let transport: Transport
    /// What follows `transport://`: a socket path for ipc, `host:port` for tcp.
    public let address: String

    public init(_ string: String) throws {
        guard let separator = string.range(of: "://") else {
            throw StatusError.invalidArgument("endpoint '\(string)' has no transport; expected ipc://PATH or tcp://HOST:PORT")
        }
        let scheme = String(string[..<separator.lowerBound])
        let address = String(string[separator.upperBound...])
        guard let transport = Transport(rawValue: scheme) else {
            throw StatusError.invalidArgument("endpoint '\(string)' uses transport '\(scheme)'; lomad serves ipc:// and tcp://")
        }
        guard !address.isEmpty else {
            throw StatusError.invalidArgument("endpoint '\(string)' has an empty address")
        }
        if transport == .tcp {
            guard let colon = address.lastIndex(of: ":"), address.index(after: colon) < address.endIndex else {
                throw StatusError.invalidArgument("endpoint '\(string)' needs a port: tcp://HOST:PORT (use :* for any free port)")
            }
        }
        self.transport = transport
        self.address = address
    }

    public var description: String { "\(transport.rawValue)://\(address)" }

    /// The socket file of an ipc endpoint.
    public var ipcPath: String? { transport == .ipc ? address : nil }

    /// Where the daemon listens and clients look when told nothing: a socket in the user's
    /// runtime directory (`$XDG_RUNTIME_DIR`), or in /tmp where there is none.
    public static var defaultIPC: Endpoint {
        let directory = getenv("XDG_RUNTIME_DIR").map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        // A literal that always parses.
        return (try? Endpoint("ipc://\(directory)/lomad.sock")) ?? Endpoint(trusted: .ipc, "/tmp/lomad.sock")
    }

    private init(trusted transport: Transport, _ address: String) {
        self.transport = transport
        self.address = address
    }
}
