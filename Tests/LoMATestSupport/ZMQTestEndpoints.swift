import Foundation
import ZeroMQ

/// Endpoints no other test (or parallel test process) can collide with.
public enum TestEndpoints {
    /// An `ipc://` endpoint on a fresh path under the temporary directory. libzmq removes the
    /// file when the bound socket closes. Paths stay well under the 107-byte socket path limit.
    public static func uniqueIPC() -> String {
        "ipc://\(NSTemporaryDirectory())lomad-\(ProcessInfo.processInfo.processIdentifier)-\(shortID()).ipc"
    }

    /// An `inproc://` endpoint name unique in the process.
    public static func uniqueInproc() -> String {
        "inproc://lomad-test-\(shortID())"
    }

    /// Loopback TCP with the port left to the kernel; read the real one back from
    /// ``ZMQSocket/lastEndpoint`` after binding.
    public static let tcpLoopbackWildcard = "tcp://127.0.0.1:*"

    private static func shortID() -> String {
        String(UUID().uuidString.prefix(13))
    }
}

/// The three transports the daemon serves, for parameterized tests.
public enum ZMQTestTransport: String, CaseIterable, Sendable, CustomStringConvertible {
    case inproc, ipc, tcp

    public var description: String { rawValue }

    /// A fresh endpoint to bind on this transport.
    public func uniqueBindEndpoint() -> String {
        switch self {
        case .inproc: TestEndpoints.uniqueInproc()
        case .ipc: TestEndpoints.uniqueIPC()
        case .tcp: TestEndpoints.tcpLoopbackWildcard
        }
    }

    /// Binds `socket` to a fresh endpoint and returns the endpoint peers connect to (for tcp,
    /// with the port the kernel chose).
    public func bindUnique(_ socket: ZMQSocket) throws -> String {
        try socket.bind(uniqueBindEndpoint())
        return try socket.lastEndpoint
    }
}
