import ZeroMQ

/// What a client needs to reach a CURVE endpoint of lomad: the daemon's public key (to know it
/// talks to the right daemon) and its own key pair, whose public half the daemon's clients file
/// maps to a tenant.
public struct CurveClientKeys: Sendable, Equatable {
    public let serverPublicKey: String
    public let publicKey: String
    public let secretKey: String

    public init(serverPublicKey: String, secretKey: String) throws {
        self.serverPublicKey = serverPublicKey
        self.secretKey = secretKey
        publicKey = try ZMQCurve.publicKey(forSecretKey: secretKey)
    }

    /// Reads the keys from files as `lomactl keygen` writes them; `server` may also be the
    /// daemon's public key itself.
    public init(server: String, secretKeyFile: String) throws {
        let serverKey = ZMQCurve.isZ85Key(server) ? server : try ZMQCurve.readKey(fromFile: server)
        try self.init(serverPublicKey: serverKey, secretKey: try ZMQCurve.readKey(fromFile: secretKeyFile))
    }
}
