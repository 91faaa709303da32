import Foundation
import LoMAModel
import LoMAProtocol

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

    private let models: [String: LlamaModel]
    /// Names in the order given, for stable listings.
    public let names: [String]

    public init(_ models: [(name: String, model: LlamaModel)]) throws {
        var byName: [String: LlamaModel] = [:]
        for (name, model) in models {
            guard byName.updateValue(model, forKey: name) == nil else {
                throw DaemonError("two models are named '\(name)'; name them with --model NAME=DIR")
            }
        }
        self.models = byName
        self.names = models.map(\.name)
    }

    /// Loads every model, failing with the first that cannot be loaded.
    public static func load(_ specifications: [Specification]) throws -> ModelRegistry {
        try ModelRegistry(specifications.map { specification in
            do {
                return (specification.name, try LlamaModel.load(directory: specification.directory))
            } catch {
                throw DaemonError("cannot load model '\(specification.name)' from \(specification.directory.path): \(error)")
            }
        })
    }

    /// The model a request names; an empty name means the only model, when there is one.
    public func model(named name: String) throws -> (name: String, model: LlamaModel) {
        if name.isEmpty, names.count == 1, let only = names.first, let model = models[only] {
            return (only, model)
        }
        guard let model = models[name] else {
            let known = names.isEmpty ? "this lomad serves no model" : "models served: \(names.joined(separator: ", "))"
            throw StatusError.notFound(name.isEmpty ? "the request names no model; \(known)" : "unknown model '\(name)'; \(known)")
        }
        return (name, model)
    }

    public var infos: [Loma_V1_ModelInfo] {
        names.compactMap { name in models[name].map { ModelInfo.describe($0, name: name) } }
    }
}

enum ModelInfo {
    static func describe(_ model: LlamaModel, name: String) -> Loma_V1_ModelInfo {
        let configuration = model.configuration
        var info = Loma_V1_ModelInfo()
        info.name = name
        info.architecture = configuration.architecture.rawValue
        info.layers = UInt32(clamping: configuration.numHiddenLayers)
        info.kvHeads = UInt32(clamping: configuration.numKeyValueHeads)
        info.headDim = UInt32(clamping: configuration.headDim)
        info.hiddenSize = UInt32(clamping: configuration.hiddenSize)
        info.attentionHeads = UInt32(clamping: configuration.numAttentionHeads)
        info.segmentLength = UInt32(clamping: configuration.loma.segmentLength)
        info.compressionRatio = UInt32(clamping: configuration.loma.compressionRatio)
        info.memoryTokensPerSegment = UInt32(clamping: configuration.loma.memoryTokensPerSegment)
        return info
    }
}
