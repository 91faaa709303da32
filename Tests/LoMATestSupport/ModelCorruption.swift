import Foundation

/// Ways to break a copied checkpoint for the bad-input tests. Each works on files in a temp
/// folder, never on the fixtures themselves.
public enum ModelCorruption {
    /// Cuts `file` down to `keepingFraction` of its bytes.
    public static func truncate(_ file: URL, keepingFraction: Double) throws {
        let data = try Data(contentsOf: file)
        try data.prefix(Int(Double(data.count) * keepingFraction)).write(to: file)
    }

    /// Rewrites a safetensors header with `edit` (the tensor data is kept byte for byte).
    public static func editHeader(_ file: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let data = try Data(contentsOf: file)
        let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
        guard var header = try JSONSerialization.jsonObject(with: data.subdata(in: 8..<(8 + length))) as? [String: Any] else {
            throw CocoaError(.fileReadCorruptFile)
        }
        edit(&header)
        let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        var rebuilt = Data()
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { rebuilt.append(contentsOf: $0) }
        rebuilt.append(json)
        rebuilt.append(data.subdata(in: (8 + length)..<data.count))
        try rebuilt.write(to: file)
    }

    /// Replaces the header JSON with raw `text` (for malformed-JSON tests).
    public static func replaceHeader(_ file: URL, with text: String) throws {
        let data = try Data(contentsOf: file)
        let length = Int(data.prefix(8).withUnsafeBytes { $0.loadUnaligned(as: UInt64.self) }.littleEndian)
        var result = Data()
        let json = Data(text.utf8)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { result.append(contentsOf: $0) }
        result.append(json)
        result.append(data.subdata(in: (8 + length)..<data.count))
        try result.write(to: file)
    }

    /// Rewrites `config.json` in `modelDirectory` with `edit`.
    public static func editConfig(_ modelDirectory: URL, _ edit: (inout [String: Any]) -> Void) throws {
        let url = modelDirectory.appendingPathComponent("config.json")
        guard var config = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any] else {
            throw CocoaError(.fileReadCorruptFile)
        }
        edit(&config)
        try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys]).write(to: url)
    }
}
