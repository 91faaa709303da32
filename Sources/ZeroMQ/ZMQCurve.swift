import CZeroMQ
#if canImport(Glibc)
import Glibc
#endif

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

    /// The Z85 form of a 32-byte binary key, as a ZAP handler receives client keys.
    public static func z85Encode(_ key: [UInt8]) throws -> String {
        guard key.count == 32 else {
            throw ZMQError(code: EINVAL, operation: "zmq_z85_encode(key of \(key.count) bytes; CURVE keys have 32)")
        }
        var text = [CChar](repeating: 0, count: 41)
        guard zmq_z85_encode(&text, key, key.count) != nil else { throw ZMQError.last("zmq_z85_encode") }
        return z85String(text)
    }

    /// Whether `text` is a 40-character Z85 key (what the socket options accept).
    public static func isZ85Key(_ text: String) -> Bool {
        guard text.utf8.count == 40 else { return false }
        var binary = [UInt8](repeating: 0, count: 32)
        return zmq_z85_decode(&binary, text) != nil
    }

    private static func z85String(_ characters: [CChar]) -> String {
        String(decoding: characters.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
