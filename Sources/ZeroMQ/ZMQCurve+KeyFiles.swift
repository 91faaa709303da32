import Foundation

extension ZMQCurve {
    /// Reads a key file: one 40-character Z85 key on its own line; blank lines and lines starting
    /// with `#` are comments. `lomactl keygen` writes such files; keeping the format this plain
    /// lets an operator copy a public key into a clients file by hand.
    public static func readKey(fromFile path: String) throws -> String {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CurveKeyFileError(path: path, problem: "cannot be read: \(error.localizedDescription)")
        }
        let lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
            .filter { !$0.isEmpty && !$0.hasPrefix("#") }
        guard lines.count == 1, let key = lines.first else {
            throw CurveKeyFileError(path: path, problem: "expected exactly one key line, found \(lines.count)")
        }
        guard isZ85Key(key) else {
            throw CurveKeyFileError(path: path, problem: "the key line is not a 40-character Z85 CURVE key")
        }
        return key
    }

    /// Writes a new key pair: the secret key to `path` (mode 0600, created exclusively, so an
    /// existing key is never overwritten) and the public key to `path.pub`.
    /// - Returns: the public key.
    @discardableResult
    public static func writeKeyPair(toFile path: String, comment: String) throws -> String {
        let pair = try keyPair()
        try write("# \(comment)\n# CURVE secret key: keep it private.\n\(pair.secretKey)\n", to: path, mode: 0o600)
        try write("# \(comment)\n# CURVE public key: give it to the other side.\n\(pair.publicKey)\n", to: path + ".pub", mode: 0o644)
        return pair.publicKey
    }

    private static func write(_ text: String, to path: String, mode: mode_t) throws {
        let descriptor = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard descriptor >= 0 else {
            throw CurveKeyFileError(path: path, problem: "cannot be created: \(String(cString: strerror(errno)))")
        }
        let handle = FileHandle(fileDescriptor: descriptor, closeOnDealloc: true)
        try handle.write(contentsOf: Data(text.utf8))
    }
}

/// A key file that cannot be used, naming the file.
public struct CurveKeyFileError: Error, CustomStringConvertible {
    public let path: String
    public let problem: String
    public var description: String { "CURVE key file \(path): \(problem)" }
}
