import Foundation
import LoMATestSupport
import Testing
import ZeroMQ

/// The pieces lomad's authentication is built from: frame metadata from the kernel and from a ZAP
/// handler, handshake events from a socket monitor, Z85 keys and key files.
@Suite("Frame metadata, ZAP and socket monitors")
struct AuthenticationTests {
    /// The peer uid and `Peer-Address` of a message a DEALER sends a ROUTER over `transport`.
    private func peerIdentity(over transport: ZMQTestTransport) async throws -> (uid: UInt32?, address: String?) {
        let context = try ZMQContext()
        defer { context.terminate() }
        return try await ZMQTestThread.run { () -> (UInt32?, String?) in
            let router = try ZMQSocket(context: context, type: .router)
            try router.setReceiveTimeout(10_000)
            let dealer = try ZMQSocket(context: context, type: .dealer)
            try dealer.connect(try transport.bindUnique(router))
            try dealer.send(ZMQFrame(string: "who"))
            let frames = try received(try router.receiveMessage(), "a message over \(transport)")
            return (frames.last?.ipcPeerCredentials?.uid, frames.last?.property("Peer-Address"))
        }
    }

    @Test("On ipc, Peer-Address carries the peer's uid from the kernel")
    func ipcPeerUID() async throws {
        #expect(try await peerIdentity(over: .ipc).uid == getuid())
    }

    @Test("Over tcp there is no uid to read")
    func tcpHasNoUID() async throws {
        let identity = try await peerIdentity(over: .tcp)
        #expect(identity.uid == nil)
        #expect(identity.address == "127.0.0.1")
    }

    /// A CURVE server with a ZAP handler that admits `admitted` as user "alice"; a client with
    /// `clientKeys` sends one message. Returns the User-Id the server saw (nil: nothing arrived)
    /// and the handshake events the client's monitor reported.
    private func curveExchange(clientKeys: (publicKey: String, secretKey: String)?, admitted: String) async throws -> (userID: String?, events: ZMQSocketEvents) {
        let context = try ZMQContext()
        defer { context.terminate() }
        let server = try ZMQCurve.keyPair()
        return try await ZMQTestThread.run { () -> (String?, ZMQSocketEvents) in
            let zap = try ZMQSocket(context: context, type: .reply)
            try zap.bind("inproc://zeromq.zap.01")
            try zap.setReceiveTimeout(100)
            let router = try ZMQSocket(context: context, type: .router)
            try router.setCurveServer(true)
            try router.setCurveKeys(publicKey: server.publicKey, secretKey: server.secretKey)
            try router.setReceiveTimeout(100)
            let endpoint = try ZMQTestTransport.tcp.bindUnique(router)

            let dealer = try ZMQSocket(context: context, type: .dealer)
            let monitorEndpoint = TestEndpoints.uniqueInproc()
            try dealer.monitor(monitorEndpoint, events: .handshakeOutcomes)
            let monitor = try ZMQSocket(context: context, type: .pair)
            try monitor.connect(monitorEndpoint)
            try monitor.setReceiveTimeout(100)
            if let clientKeys {
                try dealer.setCurveKeys(publicKey: clientKeys.publicKey, secretKey: clientKeys.secretKey,
                                        serverKey: server.publicKey)
            }
            try dealer.connect(endpoint)
            try dealer.send(ZMQFrame(string: "hello"))

            var events: ZMQSocketEvents = []
            var userID: String?
            let deadline = ContinuousClock.now + .seconds(5)
            while ContinuousClock.now < deadline, events.isEmpty || (events.contains(.handshakeSucceeded) && userID == nil) {
                if let request = try zap.receiveMessage() {
                    let key = request.count == 7 ? try ZMQCurve.z85Encode(request[6].bytes) : ""
                    let admit = request[5].string == "CURVE" && key == admitted
                    try zap.send(["1.0", request[1].string, admit ? "200" : "400", admit ? "OK" : "unknown key",
                                  admit ? "alice" : "", ""].map { ZMQFrame(string: $0) })
                }
                if let frames = try router.receiveMessage() { userID = frames.last?.property("User-Id") }
                if let frames = try monitor.receiveMessage(), let event = ZMQSocketEvent(frames: frames) {
                    events.insert(event.event)
                }
            }
            return (userID, events)
        }
    }

    @Test("A ZAP handler's user id reaches every message of an admitted CURVE client")
    func admittedClientCarriesUserID() async throws {
        let client = try ZMQCurve.keyPair()
        let outcome = try await curveExchange(clientKeys: client, admitted: client.publicKey)
        #expect(outcome.userID == "alice")
        #expect(outcome.events == .handshakeSucceeded)
    }

    @Test("A key the handler refuses fails the client's handshake with an authentication event")
    func refusedKeyIsReported() async throws {
        let outcome = try await curveExchange(clientKeys: try ZMQCurve.keyPair(), admitted: try ZMQCurve.keyPair().publicKey)
        #expect(outcome.userID == nil)
        #expect(outcome.events.contains(.handshakeFailedAuthentication))
    }

    @Test("A plain-text client never gets a message through to a CURVE server")
    func plainTextClientIsRefused() async throws {
        let outcome = try await curveExchange(clientKeys: nil, admitted: try ZMQCurve.keyPair().publicKey)
        #expect(outcome.userID == nil)
        #expect(!outcome.events.contains(.handshakeSucceeded))
        #expect(!outcome.events.isEmpty, "the monitor reports the failed handshake")
    }

    @Test("Z85 encoding round-trips with key derivation, and non-keys are recognised")
    func z85() throws {
        let pair = try ZMQCurve.keyPair()
        #expect(ZMQCurve.isZ85Key(pair.publicKey))
        #expect(!ZMQCurve.isZ85Key("short"))
        #expect(!ZMQCurve.isZ85Key(String(repeating: "\"", count: 40)))
        #expect(throws: ZMQError.self) { try ZMQCurve.z85Encode([1, 2, 3]) }
        #expect(try ZMQCurve.z85Encode([UInt8](repeating: 0, count: 32)).count == 40)
    }

    @Test("Key files: written once with private permissions, read back, bad files named")
    func keyFiles() throws {
        let directory = try TemporaryDirectory("curve-keys")
        let path = directory.url.appendingPathComponent("client.key").path
        let publicKey = try ZMQCurve.writeKeyPair(toFile: path, comment: "test")
        let secretKey = try ZMQCurve.readKey(fromFile: path)
        #expect(try ZMQCurve.publicKey(forSecretKey: secretKey) == publicKey)
        #expect(try ZMQCurve.readKey(fromFile: path + ".pub") == publicKey)
        let mode = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(mode == 0o600)
        #expect(throws: CurveKeyFileError.self) { try ZMQCurve.writeKeyPair(toFile: path, comment: "again") }
        #expect(try ZMQCurve.readKey(fromFile: path) == secretKey, "the existing key is untouched")

        let bad = directory.url.appendingPathComponent("bad.key").path
        try "# comment\nnot a key\n".write(toFile: bad, atomically: true, encoding: .utf8)
        let error = try #require(throws: CurveKeyFileError.self) { try ZMQCurve.readKey(fromFile: bad) }
        #expect(error.description.contains("bad.key") && error.description.contains("Z85"))
    }
}
