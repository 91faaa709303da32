import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Testing

/// The Swift client against a real lomad: a refused CURVE key and a plain client at a CURVE
/// endpoint fail fast and say why, and a live daemon is never taken for a missing one (the rest
/// of the client's failure policy, against bare sockets, is `LoMAClientTests`).
@Suite("Swift client failures against a real daemon")
struct ClientAgainstDaemonTests {
    /// Long enough that returning before it proves the failure did not wait for it.
    static let longTimeout: Duration = .seconds(60)

    /// Runs `body`, which must fail with a `LoMAClientError`, and returns the error and how long
    /// the call took.
    static func failure(_ body: () async throws -> Void) async throws -> (LoMAClientError, Duration) {
        let start = ContinuousClock.now
        let error = try await #require(throws: LoMAClientError.self) { try await body() }
        return (error, ContinuousClock.now - start)
    }

    @Test("a CURVE key the daemon does not admit is refused at once, not after the timeout")
    func refusedKeyFailsFast() async throws {
        let setup = try AuthenticatedDaemon(clients: ["alice", "eve"], tenants: [.init(name: "alice", clients: ["alice"])])
        let eve = try setup.curveClient("eve", timeout: Self.longTimeout, retries: 2)
        let (error, elapsed) = try await Self.failure { _ = try await eve.health() }
        guard case .refused(_, let reason) = error else {
            Issue.record("expected a refusal, got \(error)")
            return
        }
        #expect(reason.contains("clients file"))
        #expect(elapsed < Self.longTimeout)
        #expect(try await setup.curveClient("alice").health().tenant == "alice")
    }

    @Test("a client without CURVE keys at a CURVE endpoint fails well before the timeout and is told about CURVE")
    func plainClientAtCurveEndpoint() async throws {
        let setup = try AuthenticatedDaemon(clients: ["alice"], tenants: [.init(name: "alice", clients: ["alice"])])
        let plain = try setup.plainTCPClient(timeout: Self.longTimeout)
        let (error, elapsed) = try await Self.failure { _ = try await plain.health() }
        #expect(elapsed < Self.longTimeout)
        // libzmq reports either the mechanism mismatch (a refusal) or, when the daemon closes
        // first, a cut handshake (unavailable once every attempt was cut); both name CURVE.
        switch error {
        case .refused(_, let reason), .unavailable(_, let reason):
            #expect(reason.contains("CURVE"), "\(reason)")
        default:
            Issue.record("expected a refusal or unavailable, got \(error)")
        }
    }

    @Test("a live daemon is not mistaken for a missing one, over ipc and tcp")
    func liveDaemonAnswers() async throws {
        let ipc = "ipc://\(try TemporaryDirectory("client-live").url.path)/d.sock"
        let daemon = try DaemonProcess(endpoints: [ipc, "tcp://127.0.0.1:*"])
        for endpoint in daemon.endpoints {
            let client = try LoMAClient(endpoint: try Endpoint(connectingTo: endpoint))
            #expect(try await client.health().protocolVersion == 1, "\(endpoint)")
        }
    }
}
