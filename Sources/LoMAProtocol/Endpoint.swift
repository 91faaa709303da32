#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A ZeroMQ endpoint the daemon binds or a client connects to. Only the transports lomad serves
/// are accepted, so a typo fails at start-up rather than as a puzzling libzmq error.
///
/// Two readings: `init(_:)` is the daemon's (it may bind `tcp://*:*`), `init(connectingTo:)` the
/// clients' stricter one, which wants a daemon it can reach: an absolute socket path, a host and a
/// port from 1 to 65535.
public struct Endpoint: Sendable, Hashable, CustomStringConvertible {
    public enum Transport: String, Sendable { case ipc, tcp }

    public let transport: Transport
    /// What follows `transport://`: a socket path for ipc, `host:port` for tcp.
    public let address: String

    /// The daemon's reading: what it may bind. Throws `StatusError.invalidArgument`, which is how
    /// the daemon reports every bad setting.
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

    /// The clients' reading: an endpoint a daemon can be reached at. Checked before any socket
    /// exists, because libzmq would take `ipc://tmp/x` as a path relative to the working directory
    /// and reports a bare path only as "Invalid argument".
    public init(connectingTo string: String) throws(EndpointError) {
        func refuse(_ reason: String) -> EndpointError { EndpointError(endpoint: string, reason: reason) }
        guard let separator = string.range(of: "://") else {
            if string.hasPrefix("/") {
                throw refuse("not an endpoint: '\(string)'; did you mean ipc://\(string)?")
            }
            if let port = string.split(separator: ":").last, string.contains(":"), UInt16(port) != nil {
                throw refuse("not an endpoint: '\(string)'; did you mean tcp://\(string)?")
            }
            throw refuse("not an endpoint: '\(string)'; write ipc:///absolute/path or tcp://HOST:PORT")
        }
        let scheme = String(string[..<separator.lowerBound])
        let address = String(string[separator.upperBound...])
        guard let transport = Transport(rawValue: scheme) else {
            throw refuse("unknown transport '\(scheme)' in '\(string)'; lomad serves ipc:///absolute/path and tcp://HOST:PORT")
        }
        switch transport {
        case .ipc:
            guard !address.isEmpty else { throw refuse("'\(string)' has no socket path; write ipc:///absolute/path") }
            guard address.hasPrefix("/") else {
                throw refuse("ipc path '\(address)' is relative; write ipc:///\(address)")
            }
        case .tcp:
            try Self.checkHostAndPort(address, of: string)
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

    /// `HOST:PORT` with HOST a name, an IPv4 address or a bracketed IPv6 address, PORT 1-65535.
    private static func checkHostAndPort(_ address: String, of string: String) throws(EndpointError) {
        func refuse(_ reason: String) -> EndpointError { EndpointError(endpoint: string, reason: reason) }
        let host: Substring
        let port: Substring?
        if address.hasPrefix("[") {
            guard let close = address.firstIndex(of: "]") else {
                throw refuse("'\(string)' opens an IPv6 address with '[' but never closes it")
            }
            host = address[address.index(after: address.startIndex)..<close]
            let rest = address[address.index(after: close)...]
            guard rest.isEmpty || rest.hasPrefix(":") else { throw refuse("'\(string)': expected ':PORT' after ']'") }
            port = rest.isEmpty ? nil : rest.dropFirst()
            // Hex groups, maybe an embedded IPv4 part, maybe a `%zone` (an interface name).
            guard host.contains(":"), host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || ":.%".contains($0)) }) else {
                throw refuse("'\(host)' in '\(string)' is not an IPv6 address")
            }
        } else {
            let parts = address.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count <= 2 else {
                throw refuse("'\(string)' has more than one ':'; write an IPv6 host in brackets: tcp://[::1]:PORT")
            }
            host = parts[0]
            port = parts.count == 2 ? parts[1] : nil
            guard host != "*" else { throw refuse("'*' in '\(string)' is for binding; name the daemon's host") }
            guard !host.isEmpty, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") }) else {
                throw refuse("'\(host)' in '\(string)' is not a host name or IPv4 address")
            }
        }
        guard let port, !port.isEmpty else {
            throw refuse("'\(string)' has no port; write tcp://\(address.hasSuffix(":") ? String(address.dropLast()) : address):PORT")
        }
        guard port.allSatisfy(\.isASCII), let number = Int(port), (1...65535).contains(number) else {
            throw refuse("port '\(port)' in '\(string)' is not a number from 1 to 65535")
        }
    }
}

/// An endpoint a client cannot use, with the fix in the message. A distinct type, not a
/// `StatusError`: no daemon was contacted, so nothing was answered.
public struct EndpointError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The text as given.
    public let endpoint: String
    public let reason: String

    public init(endpoint: String, reason: String) {
        self.endpoint = endpoint
        self.reason = reason
    }

    public var description: String { reason }
}
