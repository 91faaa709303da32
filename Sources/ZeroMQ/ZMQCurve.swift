import CZeroMQ

/// CURVE (CurveZMQ) key helpers. Keys travel as 40-character Z85 strings, the form the socket
/// options and configuration files use.
public enum ZMQCurve {
    /// Whether this libzmq supports CURVE (it needs libsodium or its bundled tweetnacl).
    public static var isAvailable: Bool { ZMQVersion.has("curve") }

    /// A new long-term key pair from `zmq_curve_keypair`.
    public static func keyPair() throws -> (publicKey: String, secretKey: String) {
        var publicKey = [CChar](repeating: 0, count: 41)
        var secretKey = [CChar](repeating: 0, count: 41)
        _ = try retryingOnInterrupt("zmq_curve_keypair") { zmq_curve_keypair(&publicKey, &secretKey) }
        return (z85String(publicKey), z85String(secretKey))
    }

    /// The public key belonging to `secretKey`, so configuration only needs to store the secret.
    public static func publicKey(forSecretKey secretKey: String) throws -> String {
        var publicKey = [CChar](repeating: 0, count: 41)
        _ = try retryingOnInterrupt("zmq_curve_public(secret key of \(secretKey.utf8.count) characters)") {
            zmq_curve_public(&publicKey, secretKey)
        }
        return z85String(publicKey)
    }

    private static func z85String(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
