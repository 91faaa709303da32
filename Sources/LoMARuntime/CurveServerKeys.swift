import ZeroMQ

/// The daemon's long-term CURVE key pair. When set, every `tcp://` endpoint requires CURVE and
/// admits only the client keys of the clients file.
public struct CurveServerKeys: Sendable, Equatable {
    public let publicKey: String
    public let secretKey: String

    /// The pair for a secret key, as `lomactl keygen` writes one.
    public init(secretKey: String) throws {
        self.secretKey = secretKey
        publicKey = try ZMQCurve.publicKey(forSecretKey: secretKey)
    }

    /// Reads the secret key file (`auth.server_secret_key_file`).
    public init(secretKeyFile path: String) throws {
        guard ZMQCurve.isAvailable else {
            throw DaemonError("auth.server_secret_key_file is set, but this libzmq was built without CURVE support")
        }
        try self.init(secretKey: try ZMQCurve.readKey(fromFile: path))
    }
}
