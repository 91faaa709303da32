#if canImport(Glibc)
import Glibc
#endif
import Foundation
import ZeroMQ

/// A ZMTP 3.0 peer written from the specification (RFC 23, NULL mechanism, RFC 37 framing) on a
/// bare socket, without libzmq: it can put anything in its handshake, as an attacker would, for
/// example a `User-Id` or `Peer-Address` property that libzmq's own clients never send.
public final class RawZMTPConnection {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        init(_ description: String) { self.description = description }
    }

    private let descriptor: Int32

    /// Connects to `endpoint` (`ipc://PATH` or `tcp://HOST:PORT`, IPv4), sends the greeting and a
    /// READY command with `properties` (name -> value), and reads the server's greeting and READY.
    public init(endpoint: String, properties: [(String, String)], timeout: Duration = .seconds(10)) throws {
        descriptor = try Self.connect(endpoint)
        do {
            var timeval = Glibc.timeval(tv_sec: Int(timeout.components.seconds), tv_usec: 0)
            setsockopt(descriptor, SOL_SOCKET, SO_RCVTIMEO, &timeval, socklen_t(MemoryLayout<Glibc.timeval>.size))
            setsockopt(descriptor, SOL_SOCKET, SO_SNDTIMEO, &timeval, socklen_t(MemoryLayout<Glibc.timeval>.size))
            try write(Self.greeting)
            let serverGreeting = try read(64)
            guard serverGreeting[0] == 0xFF, serverGreeting[9] == 0x7F, serverGreeting[10] == 3 else {
                throw Failure("the server's greeting is not ZMTP 3: \(serverGreeting.prefix(12))")
            }
            var ready: [UInt8] = [5] + Array("READY".utf8)
            for (name, value) in properties {
                ready += [UInt8(name.utf8.count)] + Array(name.utf8)
                ready += Self.bigEndian(UInt32(value.utf8.count)) + Array(value.utf8)
            }
            try write(Self.frameHeader(size: ready.count, command: true, more: false) + ready)
            let (command, isCommand, _) = try readFrame()
            guard isCommand, command.starts(with: [5] + Array("READY".utf8)) else {
                throw Failure("the server answered the handshake with \(String(decoding: command.prefix(16), as: UTF8.self)) instead of READY")
            }
        } catch {
            close(descriptor)
            throw error
        }
    }

    deinit { close(descriptor) }

    /// Sends one message of `frames`.
    public func send(_ frames: [[UInt8]]) throws {
        for (index, frame) in frames.enumerated() {
            try write(Self.frameHeader(size: frame.count, command: false, more: index < frames.count - 1) + frame)
        }
    }

    /// Reads one whole message.
    public func receive() throws -> [[UInt8]] {
        var frames: [[UInt8]] = []
        while true {
            let (body, isCommand, more) = try readFrame()
            if isCommand { continue } // PING and the like
            frames.append(body)
            if !more { return frames }
        }
    }

    private static let greeting: [UInt8] = {
        var bytes: [UInt8] = [0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 0]
        bytes += Array("NULL".utf8) + [UInt8](repeating: 0, count: 16)
        bytes += [0] + [UInt8](repeating: 0, count: 31)
        return bytes
    }()

    private static func frameHeader(size: Int, command: Bool, more: Bool) -> [UInt8] {
        var flags: UInt8 = (command ? 0x04 : 0) | (more ? 0x01 : 0)
        if size <= 255 { return [flags, UInt8(size)] }
        flags |= 0x02
        return [flags] + bigEndian(UInt64(size))
    }

    private static func bigEndian<T: FixedWidthInteger>(_ value: T) -> [UInt8] {
        withUnsafeBytes(of: value.bigEndian) { Array($0) }
    }

    private func readFrame() throws -> (body: [UInt8], command: Bool, more: Bool) {
        let flags = try read(1)[0]
        let size: Int
        if flags & 0x02 != 0 {
            size = Int(try read(8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) })
        } else {
            size = Int(try read(1)[0])
        }
        return (try read(size), flags & 0x04 != 0, flags & 0x01 != 0)
    }

    private func write(_ bytes: [UInt8]) throws {
        var offset = 0
        while offset < bytes.count {
            let written = bytes[offset...].withUnsafeBytes { Glibc.send(descriptor, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw Failure("send failed: \(String(cString: strerror(errno)))") }
            offset += written
        }
    }

    private func read(_ count: Int) throws -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var offset = 0
        while offset < count {
            let received = bytes[offset...].withUnsafeMutableBytes { recv(descriptor, $0.baseAddress, $0.count, 0) }
            guard received > 0 else {
                throw Failure(received == 0 ? "the server closed the connection" : "recv failed: \(String(cString: strerror(errno)))")
            }
            offset += received
        }
        return bytes
    }

    private static func connect(_ endpoint: String) throws -> Int32 {
        if endpoint.hasPrefix("ipc://") {
            let path = String(endpoint.dropFirst("ipc://".count))
            guard let address = UnixSocketAddress(path: path) else { throw Failure("ipc path too long: \(path)") }
            let descriptor = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            let result = address.withSockaddr { Glibc.connect(descriptor, $0, $1) }
            guard result == 0 else { close(descriptor); throw Failure("connect \(endpoint): \(String(cString: strerror(errno)))") }
            return descriptor
        }
        guard endpoint.hasPrefix("tcp://"), let colon = endpoint.lastIndex(of: ":"),
              let port = UInt16(endpoint[endpoint.index(after: colon)...]) else { throw Failure("unsupported endpoint \(endpoint)") }
        let host = String(endpoint[endpoint.index(endpoint.startIndex, offsetBy: 6)..<colon])
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { close(descriptor); throw Failure("not an IPv4 address: \(host)") }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { close(descriptor); throw Failure("connect \(endpoint): \(String(cString: strerror(errno)))") }
        return descriptor
    }
}
