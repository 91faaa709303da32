import CLoMAChecksum
import CSodium
import Foundation

/// Which checkpoint each model name stands for, so a daemon never reads memory that another
/// checkpoint made under the same name. The identity is text (`NAME@FINGERPRINT`, made by the
/// daemon from the model's files); the tier hashes it for keys and digests.
public struct ModelIdentities: Sendable {
    private let identities: [String: String]

    /// - Parameter identities: model name → identity; a name not listed is identified by its
    ///   name alone.
    public init(_ identities: [String: String]) {
        self.identities = identities
    }

    public func identity(of model: String) -> String {
        identities[model] ?? "name:\(model)"
    }

    /// The first 16 bytes of BLAKE2b-256 of the identity: the MODEL part of keys.
    func keyPart(of model: String) -> [UInt8] {
        Array(Self.blake2b(Array(identity(of: model).utf8), key: []).prefix(16))
    }

    /// BLAKE2b-256 of the identity, the key of the segment digests of this model.
    func digestKey(of model: String) -> [UInt8] {
        Self.blake2b(Array(identity(of: model).utf8), key: [])
    }

    static func blake2b(_ bytes: [UInt8], key: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBufferPointer { output in
            guard let outputAddress = output.baseAddress else { return }
            bytes.withUnsafeBufferPointer { input in
                key.withUnsafeBufferPointer { keyBytes in
                    _ = crypto_generichash(outputAddress, 32, input.baseAddress, UInt64(input.count),
                                           keyBytes.isEmpty ? nil : keyBytes.baseAddress, keyBytes.count)
                }
            }
        }
        return out
    }
}

extension ModelIdentities {
    /// `NAME@FINGERPRINT` of a model directory: the CRC-32C of every regular file in it (name,
    /// size and bytes, in name order). Two daemons loading the same checkpoint agree; a
    /// retrained or re-quantized checkpoint under the same name does not.
    public static func identity(name: String, directory: URL) -> String {
        let files = ((try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: [.isRegularFileKey]))
            ?? []).filter { (try? $0.resourceValues(forKeys: [.isRegularFileKey]).isRegularFile) == true }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        var crc: UInt32 = 0
        var total = 0
        for file in files {
            guard let data = try? Data(contentsOf: file, options: .alwaysMapped) else { continue }
            let header = Array("\(file.lastPathComponent)\u{0}\(data.count)\u{0}".utf8)
            crc = header.withUnsafeBytes { loma_crc32c(crc, $0.baseAddress, $0.count) }
            crc = data.withUnsafeBytes { loma_crc32c(crc, $0.baseAddress, $0.count) }
            total += data.count
        }
        return "\(name)@crc32c-\(String(crc, radix: 16))-\(total)"
    }
}
