import Foundation
import ZeroMQ

/// Plain stream sockets connected to a daemon's endpoint that never say anything: what an
/// attacker (or a buggy client) uses to hold descriptors without ever speaking ZMTP. Closed
/// when the value is released or ``closeAll()`` is called.
public final class RawConnections {
    public private(set) var descriptors: [Int32] = []

    public enum ConnectError: Error, CustomStringConvertible {
        case unsupported(String)
        case failed(String, errno: Int32)

        public var description: String {
            switch self {
            case let .unsupported(endpoint): "cannot open a raw connection to \(endpoint)"
            case let .failed(endpoint, code): "connect to \(endpoint) failed: \(String(cString: strerror(code)))"
            }
        }
    }

    public init() {}

    deinit { closeAll() }

    /// Opens `count` more connections to `endpoint` (`ipc://PATH` or `tcp://127.0.0.1:PORT`).
    /// A full listen backlog (the daemon has not accepted the earlier ones yet) is waited out.
    public func open(_ count: Int, to endpoint: String, timeout: Duration = .seconds(60)) throws {
        let deadline = ContinuousClock.now + timeout
        for _ in 0..<count {
            while true {
                let descriptor = try Self.connect(endpoint)
                if descriptor >= 0 {
                    descriptors.append(descriptor)
                    break
                }
                guard ContinuousClock.now < deadline else { throw ConnectError.failed(endpoint, errno: EAGAIN) }
                Thread.sleep(forTimeInterval: 0.002)
            }
        }
    }

    /// Makes `attempts` connection attempts to `endpoint` without waiting for any: an attempt
    /// the listener's backlog cannot take is given up (ipc) or left pending (tcp). For floods
    /// against a daemon that may have stopped accepting. Returns how many connected at once.
    @discardableResult
    public func attempt(_ attempts: Int, to endpoint: String) throws -> Int {
        var connected = 0
        for _ in 0..<attempts {
            let descriptor = try Self.connect(endpoint, blocking: false)
            if descriptor >= 0 {
                descriptors.append(descriptor)
                connected += 1
            }
        }
        return connected
    }

    /// How many of the connections the daemon has closed (end-of-file or reset); reads and
    /// discards whatever the daemon sent first (its ZMTP greeting).
    public func closedByPeer() -> Int {
        descriptors.filter(Self.isClosedByPeer).count
    }

    /// Waits (bounded) until at least `count` connections are closed by the daemon; returns how
    /// many are.
    public func waitUntilClosedByPeer(_ count: Int, timeout: Duration = .seconds(30)) -> Int {
        let deadline = ContinuousClock.now + timeout
        var closed = closedByPeer()
        while closed < count, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.01)
            closed = closedByPeer()
        }
        return closed
    }

    public func closeAll() {
        for descriptor in descriptors { close(descriptor) }
        descriptors = []
    }

    /// A connected descriptor, or -1 when the listener's backlog is full for now. Non-blocking
    /// tcp connects return their descriptor while the handshake is still in progress.
    private static func connect(_ endpoint: String, blocking: Bool = true) throws -> Int32 {
        if endpoint.hasPrefix("ipc://") {
            guard let address = UnixSocketAddress(path: String(endpoint.dropFirst("ipc://".count))) else {
                throw ConnectError.unsupported(endpoint)
            }
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
            guard descriptor >= 0 else { throw ConnectError.failed(endpoint, errno: errno) }
            let result = address.withSockaddr { Glibc.connect(descriptor, $0, $1) }
            return try finish(descriptor, result: result, endpoint: endpoint)
        }
        guard endpoint.hasPrefix("tcp://127.0.0.1:"), let port = UInt16(endpoint.dropFirst("tcp://127.0.0.1:".count)) else {
            throw ConnectError.unsupported(endpoint)
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7f00_0001).bigEndian
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | (blocking ? 0 : Int32(SOCK_NONBLOCK.rawValue)), 0)
        guard descriptor >= 0 else { throw ConnectError.failed(endpoint, errno: errno) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return try finish(descriptor, result: result, endpoint: endpoint)
    }

    private static func finish(_ descriptor: Int32, result: Int32, endpoint: String) throws -> Int32 {
        let code = errno
        if result == 0 || code == EINPROGRESS { return descriptor }
        close(descriptor)
        if code == EAGAIN { return -1 }
        throw ConnectError.failed(endpoint, errno: code)
    }

    private static func isClosedByPeer(_ descriptor: Int32) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 256)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, Int32(MSG_DONTWAIT))
            if count > 0 { continue }
            if count == 0 { return true }
            return errno == ECONNRESET || errno == EPIPE
        }
    }
}
