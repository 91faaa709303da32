#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A minimal blocking RESP2 client (SET, GET, MSET, MGET over one tcp connection), enough to
/// time redis-server with the same bytes lomad moves: no Swift Redis library is a dependency of
/// this package, and a blocking socket is the cheapest client Redis can have.
final class RedisConnection {
    private let descriptor: Int32
    private var buffer: [UInt8] = []
    private var start = 0
    private var scratch = [UInt8](repeating: 0, count: 1 << 20)

    init(port: UInt16) throws {
        descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { throw BenchError("socket: errno \(errno)") }
        var one: Int32 = 1
        setsockopt(descriptor, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            close(descriptor)
            throw BenchError("connect to redis port \(port): errno \(errno)")
        }
    }

    deinit { close(descriptor) }

    func set(_ key: String, _ value: [UInt8]) throws {
        try command([Array(("SET").utf8), Array(key.utf8), value])
        try expectSimple()
    }

    func mset(_ pairs: [(String, [UInt8])]) throws {
        try command([Array("MSET".utf8)] + pairs.flatMap { [Array($0.0.utf8), $0.1] })
        try expectSimple()
    }

    /// The values' total byte count (what a read delivers), -1 for a missing key.
    func get(_ key: String) throws -> Int {
        try command([Array("GET".utf8), Array(key.utf8)])
        return try readBulk()
    }

    func mget(_ keys: [String]) throws -> Int {
        try command([Array("MGET".utf8)] + keys.map { Array($0.utf8) })
        let header = try readLine()
        guard header.first == UInt8(ascii: "*"), let count = Int(String(decoding: header.dropFirst(), as: UTF8.self)) else {
            throw BenchError("redis: unexpected MGET reply")
        }
        var total = 0
        for _ in 0..<count { total += max(0, try readBulk()) }
        return total
    }

    private func command(_ parts: [[UInt8]]) throws {
        var out: [UInt8] = Array("*\(parts.count)\r\n".utf8)
        out.reserveCapacity(parts.reduce(64) { $0 + $1.count + 16 })
        for part in parts {
            out += Array("$\(part.count)\r\n".utf8)
            out += part
            out += [13, 10]
        }
        var sent = 0
        while sent < out.count {
            let written = out.withUnsafeBytes { write(descriptor, $0.baseAddress! + sent, out.count - sent) }
            guard written > 0 else { throw BenchError("redis write: errno \(errno)") }
            sent += written
        }
    }

    private func fill() throws {
        if start == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            start = 0
        }
        let count = scratch.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { throw BenchError("redis read: connection closed") }
        buffer += scratch[0..<count]
    }

    private func readLine() throws -> ArraySlice<UInt8> {
        while true {
            if let end = buffer[start...].firstIndex(of: 10), end > start, buffer[end - 1] == 13 {
                let line = buffer[start..<(end - 1)]
                start = end + 1
                return line
            }
            try fill()
        }
    }

    private func expectSimple() throws {
        let line = try readLine()
        guard line.first == UInt8(ascii: "+") else { throw BenchError("redis: \(String(decoding: line, as: UTF8.self))") }
    }

    private func readBulk() throws -> Int {
        let header = try readLine()
        guard header.first == UInt8(ascii: "$"), let length = Int(String(decoding: header.dropFirst(), as: UTF8.self)) else {
            throw BenchError("redis: unexpected bulk reply \(String(decoding: header, as: UTF8.self))")
        }
        guard length >= 0 else { return -1 }
        while buffer.count - start < length + 2 { try fill() }
        start += length + 2
        return length
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
