import Foundation
import LoMAOperations

/// The default model shipped with lomad (`Models/loma-tiny`), served when no `--model` is given,
/// so `lomad serve` is useful out of the box. Looked for where a checkout or an install keeps it.
enum ShippedModel {
    static let name = "loma-tiny"

    /// `$LOMAD_MODEL_DIR` alone when set (an operator saying where it is); otherwise the current
    /// directory's `Models/`, the checkout the executable was built in
    /// (`.build/<triple>/<config>/lomad`), then the install prefix's `share/lomad/models`.
    static var candidates: [URL] {
        if let override = ProcessInfo.processInfo.environment["LOMAD_MODEL_DIR"], !override.isEmpty {
            return [URL(fileURLWithPath: override)]
        }
        var urls: [URL] = []
        urls.append(URL(fileURLWithPath: FileManager.default.currentDirectoryPath).appendingPathComponent("Models/\(name)"))
        let executable = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        var directory = executable
        for _ in 0..<4 {
            directory = directory.deletingLastPathComponent()
            urls.append(directory.appendingPathComponent("Models/\(name)"))
        }
        urls.append(executable.deletingLastPathComponent().appendingPathComponent("share/lomad/models/\(name)"))
        return urls
    }

    static func locate() -> ModelRegistry.Specification? {
        candidates.first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("config.json").path) }
            .map { ModelRegistry.Specification(name: name, directory: $0.standardizedFileURL) }
    }
}
