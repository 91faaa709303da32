import LoMATestSupport
import Testing
import ZeroMQ

@Suite("CURVE security")
struct CurveTests {
    @Test("Key pairs are 40-character Z85 and the public key is derived from the secret")
    func keyPair() throws {
        let pair = try ZMQCurve.keyPair()
        #expect(pair.publicKey.utf8.count == 40)
        #expect(pair.secretKey.utf8.count == 40)
        #expect(try ZMQCurve.publicKey(forSecretKey: pair.secretKey) == pair.publicKey)
        #expect(try ZMQCurve.keyPair().publicKey != pair.publicKey)
    }

    /// Whether a client holding `clientKnowsServerKey` gets an echo from a CURVE server.
    private func echo(serverKeyForClient: (String) throws -> String) async throws -> String? {
        let context = try ZMQContext()
        defer { context.terminate() }
        let server = try ZMQCurve.keyPair()
        let client = try ZMQCurve.keyPair()
        let clientView = try serverKeyForClient(server.publicKey)
        return try await ZMQTestThread.run { () -> String? in
            let router = try ZMQSocket(context: context, type: .router)
            try router.setCurveServer(true)
            try router.setCurveKeys(publicKey: server.publicKey, secretKey: server.secretKey)
            try router.setReceiveTimeout(500)
            let dealer = try ZMQSocket(context: context, type: .dealer)
            try dealer.setCurveKeys(publicKey: client.publicKey, secretKey: client.secretKey, serverKey: clientView)
            try dealer.setReceiveTimeout(10_000)
            try dealer.connect(try ZMQTestTransport.tcp.bindUnique(router))
            try dealer.send(ZMQFrame(string: "secret"))
            guard let request = try router.receiveMessage() else { return nil }
            try router.send(request)
            return try received(dealer.receiveFrame(), "echo through CURVE").string
        }
    }

    @Test("A client that knows the server key talks to a CURVE server")
    func authenticatedEcho() async throws {
        #expect(try await echo { $0 } == "secret")
    }

    @Test("A client with the wrong server key never gets through")
    func wrongServerKey() async throws {
        #expect(try await echo { _ in try ZMQCurve.keyPair().publicKey } == nil)
    }
}
