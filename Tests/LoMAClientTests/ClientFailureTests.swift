import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Testing
import ZeroMQ

/// The Swift client's side of the shared client policy: endpoints checked before any socket
/// exists, "no daemon" reported as soon as it is known, and the timeout/retry rule, each against
/// real sockets (a missing file, a dead socket file, a closed tcp port, a peer that never
/// answers). The same policy against a real daemon is `ClientAgainstDaemonTests`, end to end.
@Suite("Swift client failures: invalid endpoints, no daemon, timeouts")
struct ClientFailureTests {
    /// Long enough that returning before it proves the failure did not wait for it.
    static let longTimeout: Duration = .seconds(60)

    /// Runs `body`, which must fail with a `LoMAClientError`, and returns the error and how long
    /// the call took.
    static func failure(_ body: () async throws -> Void) async throws -> (LoMAClientError, Duration) {
        let start = ContinuousClock.now
        let error = try await #require(throws: LoMAClientError.self) { try await body() }
        return (error, ContinuousClock.now - start)
    }

    @Test("an endpoint the daemon may bind but no client can reach is refused before any socket exists",
          arguments: ["tcp://*:5555", "ipc://relative/lomad.sock", "tcp://127.0.0.1:0"])
    func unreachableEndpointRefused(_ text: String) throws {
        let endpoint = try Endpoint(text)
        #expect(throws: EndpointError.self) { try LoMAClient(endpoint: endpoint) }
    }

    @Test("a missing ipc socket file fails at once, without retries")
    func missingSocketFile() async throws {
        let directory = try TemporaryDirectory("client-none")
        defer { directory.remove() }
        let endpoint = "ipc://\(directory.path)/none.sock"
        let client = try LoMAClient(endpoint: try Endpoint(connectingTo: endpoint), timeout: Self.longTimeout, retries: 2)
        let (error, elapsed) = try await Self.failure { _ = try await client.health() }
        guard case .unavailable(let reported, let reason) = error else {
            Issue.record("expected unavailable, got \(error)")
            return
        }
        #expect(reported == endpoint)
        #expect(reason.contains("socket file does not exist"))
        #expect("\(error)".hasPrefix("no lomad at \(endpoint): "))
        #expect(elapsed < Self.longTimeout)
    }

    @Test("a path that is not a socket fails at once and says so")
    func notASocket() async throws {
        let directory = try TemporaryDirectory("client-file")
        defer { directory.remove() }
        let path = directory.url.appendingPathComponent("plain.sock").path
        try Data("not a socket".utf8).write(to: URL(fileURLWithPath: path))
        let client = try LoMAClient(endpoint: try Endpoint(connectingTo: "ipc://\(path)"), timeout: Self.longTimeout)
        let (error, elapsed) = try await Self.failure { _ = try await client.health() }
        #expect("\(error)".contains("is not a socket"), "\(error)")
        #expect(elapsed < Self.longTimeout)
    }

    @Test("a socket file left by a dead daemon fails as refused, before the timeout")
    func staleSocketFile() async throws {
        let directory = try TemporaryDirectory("client-stale")
        defer { directory.remove() }
        let path = directory.url.appendingPathComponent("s.sock").path
        try StaleUnixSocket.create(at: path)
        let client = try LoMAClient(endpoint: try Endpoint(connectingTo: "ipc://\(path)"), timeout: Self.longTimeout)
        let (error, elapsed) = try await Self.failure { _ = try await client.health() }
        guard case .unavailable(_, let reason) = error else {
            Issue.record("expected unavailable, got \(error)")
            return
        }
        #expect(reason.contains("connection refused"))
        #expect(elapsed < Self.longTimeout)
    }

    @Test("a refused tcp connection fails as soon as libzmq reports it")
    func refusedTCP() async throws {
        // A port that was just free: bound and released, so nothing listens on it.
        // Terminating its context waits until the listener is really closed.
        let context = try ZMQContext()
        let probe = try ZMQSocket(context: context, type: .router)
        try probe.bind("tcp://127.0.0.1:*")
        let endpoint = try probe.lastEndpoint
        probe.close()
        context.terminate()
        let client = try LoMAClient(endpoint: try Endpoint(connectingTo: endpoint), timeout: Self.longTimeout, retries: 2)
        let (error, elapsed) = try await Self.failure { _ = try await client.health() }
        guard case .unavailable(_, let reason) = error else {
            Issue.record("expected unavailable, got \(error)")
            return
        }
        #expect(reason == "connection refused")
        #expect(elapsed < Self.longTimeout)
    }

    @Test("a tcp host name that does not resolve fails at once and says so")
    func unresolvableHost() async throws {
        // RFC 6761: `.invalid` never resolves.
        let client = try LoMAClient(endpoint: try Endpoint(connectingTo: "tcp://no-such-host.invalid:5555"), timeout: Self.longTimeout)
        let (error, elapsed) = try await Self.failure { _ = try await client.health() }
        guard case .unavailable(_, let reason) = error else {
            Issue.record("expected unavailable, got \(error)")
            return
        }
        #expect(reason.contains("does not resolve"), "\(reason)")
        #expect(elapsed < Self.longTimeout)
    }

    @Test("a tcp peer that keeps hanging up during the handshake ends each attempt early; the call fails as unavailable naming the causes")
    func peerThatHangsUp() async throws {
        let listener = try HangUpListener()
        let client = try LoMAClient(endpoint: try Endpoint(connectingTo: "tcp://127.0.0.1:\(listener.port)"), timeout: Self.longTimeout)
        let (error, elapsed) = try await Self.failure { _ = try await client.health() }
        guard case .unavailable(_, let reason) = error else {
            Issue.record("expected unavailable, got \(error)")
            return
        }
        // lomad past its connection limit does the same (ReliabilityConnectionTests), so it is
        // retried like a timeout, not refused.
        #expect(reason.contains("connection limit") && reason.contains("require CURVE") && reason.contains("not lomad"), "\(reason)")
        #expect(elapsed < Self.longTimeout)
        listener.stop()
    }

    @Test("a peer that never answers: idempotent requests are tried 1 + retries times, an append once")
    func silentPeerTimesOut() async throws {
        let context = try ZMQContext()
        let silent = try ZMQSocket(context: context, type: .router)
        let directory = try TemporaryDirectory("client-silent")
        defer { directory.remove() }
        let endpoint = "ipc://\(directory.path)/silent.sock"
        try silent.bind(endpoint)
        let client = try LoMAClient(endpoint: try Endpoint(connectingTo: endpoint), timeout: .milliseconds(200))
        #expect(client.retries == 2 && LoMAClient.defaultTimeout == .seconds(5))

        let (health, _) = try await Self.failure { _ = try await client.health() }
        guard case .timeout(_, let attempts, _) = health else {
            Issue.record("expected a timeout, got \(health)")
            return
        }
        #expect(attempts == 3)
        #expect("\(health)".contains("no reply from lomad at \(endpoint)"))

        let kv = TensorPayload(bytes: Data(count: 16), dtype: .f32, shape: [1, 1, 1, 4])
        let (append, _) = try await Self.failure {
            _ = try await client.compress(keys: kv, values: kv, options: CompressOptions(sequence: "s"))
        }
        guard case .timeout(_, let appendAttempts, _) = append else {
            Issue.record("expected a timeout, got \(append)")
            return
        }
        #expect(appendAttempts == 1, "an append must never be sent twice")
        silent.close()
        context.terminate()
    }
}

/// A tcp listener on 127.0.0.1 that accepts every connection and closes it at once: a peer that
/// is not a ZeroMQ daemon.
final class HangUpListener: @unchecked Sendable {
    let port: UInt16
    private let descriptor: Int32
    private let thread: Thread

    init() throws {
        let listening = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard listening >= 0 else { throw POSIXError(.EIO) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(listening, pointer, length) == 0 && listen(listening, 16) == 0 && getsockname(listening, pointer, &length) == 0
            }
        }
        guard bound else {
            let error = POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
            close(listening)
            throw error
        }
        descriptor = listening
        port = UInt16(bigEndian: address.sin_port)
        thread = Thread {
            while true {
                let connection = accept(listening, nil, nil)
                guard connection >= 0 else { return }
                close(connection)
            }
        }
        thread.start()
    }

    /// Shutting the listening socket down makes the blocked accept return an error.
    func stop() {
        shutdown(descriptor, Int32(SHUT_RDWR))
        close(descriptor)
    }
}
