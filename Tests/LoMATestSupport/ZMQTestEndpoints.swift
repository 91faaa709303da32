import Foundation
import ZeroMQ

/// Endpoints no other test (or parallel test process) can collide with.
public enum TestEndpoints {
    /// An `ipc://` endpoint on a fresh path in this process's own directory under the temporary
    /// directory. libzmq 4.3 leaves the socket file behind when the bound socket closes, so the
    /// whole directory is removed when the test process exits. Paths stay well under the
    /// 107-byte socket path limit.
    public static func uniqueIPC() -> String {
        "ipc://\(IPCDirectory.path)/\(shortID()).ipc"
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

/// The per-process directory for ipc socket files, created on first use and removed at exit.
private enum IPCDirectory {
    static let path: String = {
        let path = NSTemporaryDirectory() + "lomad-ipc-\(ProcessInfo.processInfo.processIdentifier)"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: IPCDirectory.path) }
        return path
    }()
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
