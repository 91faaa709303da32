#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Logging
import LoMARuntime
import Synchronization

/// The smallest HTTP/1.1 server Prometheus needs: `GET /metrics` on a listening socket of its
/// own thread, one connection at a time, closed after each answer. Scrapes come every few
/// seconds from one collector, so this is all the concurrency it needs, and it keeps an HTTP
/// stack (and its build time) out of the daemon.
final class MetricsEndpoint: Sendable {
    /// The address really bound (port 0 resolved).
    let address: ListenAddress
    private let listener: Int32
    private let stopped = StopFlag()
    private let thread: JoinableThread

    /// Binds and starts answering; `body` renders the exposition text on every scrape.
    init(address: ListenAddress, logger: Logger, body: @escaping @Sendable () -> [UInt8]) throws {
        let (listener, bound) = try Self.listen(on: address)
        self.listener = listener
        self.address = bound
        let stopped = self.stopped
        thread = JoinableThread(name: "lomad-metrics") {
            Self.serve(listener: listener, stopped: stopped, logger: logger, body: body)
        }
    }

    func stop() {
        stopped.value.store(true, ordering: .releasing)
        thread.join()
        close(listener)
    }

    private static func serve(listener: Int32, stopped: StopFlag, logger: Logger, body: () -> [UInt8]) {
        while !stopped.value.load(ordering: .acquiring) {
            // A finite wait, so `stop` is noticed without closing the socket under accept.
            var waiting = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            guard poll(&waiting, 1, 200) > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            answer(connection, body: body, logger: logger)
            close(connection)
        }
    }

    private static func answer(_ connection: Int32, body: () -> [UInt8], logger: Logger) {
        var timeout = timeval(tv_sec: 2, tv_usec: 0)
        setsockopt(connection, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(connection, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let requestLine = readRequestHead(connection)?.split(separator: "\r\n").first else { return }
        let parts = requestLine.split(separator: " ")
        let response: [UInt8]
        if parts.count != 3 || !parts[2].hasPrefix("HTTP/1.") {
            response = Self.response(status: "400 Bad Request", type: "text/plain", body: Array("bad request\n".utf8))
        } else if parts[0] != "GET" && parts[0] != "HEAD" {
            response = Self.response(status: "405 Method Not Allowed", type: "text/plain", body: Array("only GET\n".utf8),
                                     extraHeaders: "Allow: GET, HEAD\r\n")
        } else if parts[1] != "/metrics" && !parts[1].hasPrefix("/metrics?") {
            response = Self.response(status: "404 Not Found", type: "text/plain", body: Array("try /metrics\n".utf8))
        } else {
            let text = body()
            response = Self.response(status: "200 OK", type: "text/plain; version=0.0.4; charset=utf-8",
                                     body: parts[0] == "HEAD" ? [] : text, contentLength: text.count)
        }
        var offset = 0
        while offset < response.count {
            let sent = response[offset...].withUnsafeBytes { send(connection, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard sent > 0 else {
                logger.debug("metrics scrape closed early")
                return
            }
            offset += sent
        }
    }

    /// The request line and headers, up to 8 KiB; the body of a GET is ignored.
    private static func readRequestHead(_ connection: Int32) -> String? {
        var head: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1024)
        while head.count < 8192 {
            let count = buffer.withUnsafeMutableBytes { recv(connection, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            head += buffer.prefix(count)
            if let text = String(bytes: head, encoding: .utf8), text.contains("\r\n\r\n") { return text }
        }
        return nil
    }

    private static func response(status: String, type: String, body: [UInt8], contentLength: Int? = nil,
                                 extraHeaders: String = "") -> [UInt8] {
        let head = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(contentLength ?? body.count)\r\n"
            + extraHeaders + "Connection: close\r\n\r\n"
        return Array(head.utf8) + body
    }

    private static func listen(on address: ListenAddress) throws -> (Int32, ListenAddress) {
        guard let family = ListenAddress.family(of: address.host) else {
            throw DaemonError("metrics.listen: '\(address.host)' is not an IP address")
        }
        #if canImport(Glibc)
        let fd = socket(family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(family, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw DaemonError("metrics.listen \(address): cannot create a socket: \(String(cString: strerror(errno)))") }
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var storage = sockaddr_storage()
        var length: socklen_t
        if family == AF_INET {
            var v4 = sockaddr_in()
            v4.sin_family = sa_family_t(AF_INET)
            v4.sin_port = address.port.bigEndian
            inet_pton(AF_INET, address.host, &v4.sin_addr)
            length = socklen_t(MemoryLayout<sockaddr_in>.size)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: v4, as: sockaddr_in.self) }
        } else {
            var v6 = sockaddr_in6()
            v6.sin6_family = sa_family_t(AF_INET6)
            v6.sin6_port = address.port.bigEndian
            inet_pton(AF_INET6, address.host, &v6.sin6_addr)
            length = socklen_t(MemoryLayout<sockaddr_in6>.size)
            withUnsafeMutableBytes(of: &storage) { $0.storeBytes(of: v6, as: sockaddr_in6.self) }
        }
        let bound = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && startListening(fd) && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw DaemonError("metrics.listen \(address): cannot listen: \(reason)")
        }
        let port = withUnsafeBytes(of: storage) { bytes in
            family == AF_INET ? UInt16(bigEndian: bytes.load(as: sockaddr_in.self).sin_port)
                              : UInt16(bigEndian: bytes.load(as: sockaddr_in6.self).sin6_port)
        }
        return (fd, ListenAddress(host: address.host, port: port))
    }
}

private final class StopFlag: Sendable {
    let value = Atomic<Bool>(false)
}

/// `listen(2)`, out of the reach of `MetricsEndpoint.listen(on:)`'s name.
private func startListening(_ fd: Int32) -> Bool {
    listen(fd, 16) == 0
}
