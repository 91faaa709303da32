import Foundation

/// A uniquely named folder under the system's temporary directory, so tests that write files
/// run in parallel without meeting. Names stay short: ipc socket paths inside must stay under
/// 108 bytes.
public struct TemporaryDirectory: Sendable {
    public let url: URL

    public init(_ label: String = "lomad-test") throws {
        url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("\(label)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    public var path: String { url.path }

    /// Copies `source` (a file or folder) into this directory under `name`.
    @discardableResult
    public func copy(_ source: URL, as name: String? = nil) throws -> URL {
        let target = url.appendingPathComponent(name ?? source.lastPathComponent)
        try FileManager.default.copyItem(at: source, to: target)
        return target
    }

    public func remove() {
        try? FileManager.default.removeItem(at: url)
    }
}
