import Foundation
import LoMAModel
import LoMAProtocol
import LoMARuntime

/// The models a daemon serves, by the name requests use. Loaded once at start and immutable
/// afterwards, so workers share it without locks.
public struct ModelRegistry: Sendable {
    /// A model to load: `NAME=DIR`, or `DIR` named after its folder.
    public struct Specification: Sendable, Equatable {
        public var name: String
        public var directory: URL

        public init(name: String, directory: URL) {
            self.name = name
            self.directory = directory
        }

        public init(parsing text: String) throws {
            if let equals = text.firstIndex(of: "="), equals != text.startIndex {
                name = String(text[..<equals])
                directory = URL(fileURLWithPath: String(text[text.index(after: equals)...]))
            } else {
                directory = URL(fileURLWithPath: text)
                name = directory.standardizedFileURL.lastPathComponent
            }
            guard !name.isEmpty, !directory.path.isEmpty else {
                throw DaemonError("model '\(text)' is not NAME=DIR or DIR")
            }
        }
    }

    /// A loaded model under the name requests use, and how long loading it took (reported by
    /// health and stats, since a slow start is usually a slow load).
    public struct Entry: Sendable {
        public var name: String
        public var model: LlamaModel
        public var loadTime: Duration

        public init(name: String, model: LlamaModel, loadTime: Duration) {
            self.name = name
            self.model = model
            self.loadTime = loadTime
        }
    }

    private let entries: [String: Entry]
    /// Names in the order given, for stable listings.
    public let names: [String]

    public init(_ entries: [Entry]) throws {
        var byName: [String: Entry] = [:]
        for entry in entries {
            guard byName.updateValue(entry, forKey: entry.name) == nil else {
                throw DaemonError("two models are named '\(entry.name)'; name them with --model NAME=DIR")
            }
        }
        self.entries = byName
        self.names = entries.map(\.name)
    }

    /// The model a request names; an empty name means the only model, when there is one.
    public func model(named name: String) throws -> (name: String, model: LlamaModel) {
        if name.isEmpty, names.count == 1, let only = names.first, let entry = entries[only] {
            return (only, entry.model)
        }
        guard let model = entries[name]?.model else {
            let known = names.isEmpty ? "this lomad serves no model" : "models served: \(names.joined(separator: ", "))"
            throw StatusError.notFound(name.isEmpty ? "the request names no model; \(known)" : "unknown model '\(name)'; \(known)")
        }
        return (name, model)
    }

    public var infos: [Loma_V1_ModelInfo] {
        names.compactMap { name in entries[name].map(ModelInfo.describe) }
    }
}
