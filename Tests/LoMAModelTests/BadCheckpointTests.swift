import Foundation
import LoMAModel
import LoMATestSupport
import Testing

/// A broken checkpoint must fail to load with a `checkpoint` error that names the file, tensor
/// or field at fault, never crash. Each test corrupts a private copy of a fixture model.
@Suite struct BadCheckpointTests {
    /// A single-file fixture model with no biases (so every tensor named below exists).
    static let modelName = "llama_gqa"

    /// Copies the model, applies `corrupt`, loads, and returns the error.
    func loadError(_ corrupt: (URL) throws -> Void) throws -> LoMAModelError {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let model = try scratch.copy(fixtures.model(Self.modelName), as: "model")
        try corrupt(model)
        do {
            _ = try LlamaModel.load(directory: model)
        } catch let error as LoMAModelError {
            return error
        }
        Issue.record("loading the corrupted model succeeded")
        return LoMAModelError(.io, "no error")
    }

    func weights(_ model: URL) -> URL { model.appendingPathComponent("model.safetensors") }

    @Test func fixtureModelLoads() throws {
        let model = try LlamaModel.load(directory: fixtures.model(Self.modelName))
        #expect(model.layers.count == model.configuration.numHiddenLayers)
    }

    @Test(arguments: [0.002, 0.5, 0.99])
    func truncatedFile(fraction: Double) throws {
        let error = try loadError { try ModelCorruption.truncate(weights($0), keepingFraction: fraction) }
        #expect(error.kind == .checkpoint)
        #expect(error.message.contains("model.safetensors"), "\(error)")
        #expect(error.message.contains("truncated"), "\(error)")
    }

    @Test func offsetsPastTheEnd() throws {
        let name = "model.layers.1.mlp.down_proj.weight"
        let error = try loadError { model in
            try ModelCorruption.editHeader(weights(model)) { header in
                guard var entry = header[name] as? [String: Any], let offsets = entry["data_offsets"] as? [Int] else { return }
                entry["data_offsets"] = [offsets[0] + 1_000_000, offsets[1] + 1_000_000]
                header[name] = entry
            }
        }
        #expect(error.kind == .checkpoint)
        #expect(error.message.contains(name) && error.message.contains("past the end"), "\(error)")
    }

    @Test func sizeDisagreesWithShape() throws {
        let name = "model.layers.0.input_layernorm.weight"
        let error = try loadError { model in
            try ModelCorruption.editHeader(weights(model)) { header in
                guard var entry = header[name] as? [String: Any] else { return }
                entry["shape"] = [3]
                header[name] = entry
            }
        }
        #expect(error.message.contains(name) && error.message.contains("bytes"), "\(error)")
    }

    @Test func overlappingTensors() throws {
        let error = try loadError { model in
            try ModelCorruption.editHeader(weights(model)) { header in
                let names = header.keys.filter { $0.hasSuffix("input_layernorm.weight") }.sorted()
                guard names.count == 2, let source = header[names[0]] as? [String: Any],
                      var target = header[names[1]] as? [String: Any] else { return }
                target["data_offsets"] = source["data_offsets"]
                header[names[1]] = target
            }
        }
        #expect(error.message.contains("overlap"), "\(error)")
    }

    @Test func malformedHeaderJSON() throws {
        let error = try loadError { try ModelCorruption.replaceHeader(weights($0), with: "{\"keys\": [1, 2") }
        #expect(error.message.contains("model.safetensors") && error.message.contains("JSON"), "\(error)")
    }

    @Test func unknownDType() throws {
        let name = "model.layers.0.self_attn.q_proj.weight"
        let error = try loadError { model in
            try ModelCorruption.editHeader(weights(model)) { header in
                guard var entry = header[name] as? [String: Any] else { return }
                entry["dtype"] = "F12"
                header[name] = entry
            }
        }
        #expect(error.message.contains(name) && error.message.contains("F12"), "\(error)")
    }

    @Test func missingTensor() throws {
        // Layer 0: the last layer's MLP is never loaded (the pass only needs its k/v).
        let name = "model.layers.0.mlp.down_proj.weight"
        let error = try loadError { try ModelCorruption.editHeader(weights($0)) { $0[name] = nil } }
        #expect(error.kind == .checkpoint)
        #expect(error.message.contains("missing tensor '\(name)'"), "\(error)")
    }

    @Test func tensorShapeDisagreesWithConfig() throws {
        let error = try loadError { model in
            try ModelCorruption.editConfig(model) { config in
                config["intermediate_size"] = ((config["intermediate_size"] as? Int) ?? 0) * 2
            }
        }
        #expect(error.message.contains("model.layers.0.mlp.gate_proj.weight"), "\(error)")
        #expect(error.message.contains("config.json implies"), "\(error)")
    }

    @Test func unknownArchitecture() throws {
        let error = try loadError { try ModelCorruption.editConfig($0) { $0["architectures"] = ["GPT2LMHeadModel"] } }
        #expect(error.message.contains("config.json") && error.message.contains("architectures") && error.message.contains("GPT2LMHeadModel"), "\(error)")
    }

    @Test func missingLoMASection() throws {
        let error = try loadError { try ModelCorruption.editConfig($0) { $0["loma"] = nil } }
        #expect(error.message.contains("config.json") && error.message.contains("'loma'"), "\(error)")
    }

    @Test func missingConfigField() throws {
        let error = try loadError { try ModelCorruption.editConfig($0) { $0["hidden_size"] = nil } }
        #expect(error.message.contains("hidden_size"), "\(error)")
    }

    @Test func unsupportedRoPEType() throws {
        let error = try loadError { try ModelCorruption.editConfig($0) { $0["rope_scaling"] = ["rope_type": "yarn", "factor": 4.0] } }
        #expect(error.message.contains("rope_scaling") && error.message.contains("yarn"), "\(error)")
    }

    @Test func missingShardOfShardedCheckpoint() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let source = try #require(try FileManager.default.contentsOfDirectory(atPath: fixtures.modelsDirectory.path)
            .map(fixtures.model).first { FileManager.default.fileExists(atPath: $0.appendingPathComponent("model.safetensors.index.json").path) })
        let model = try scratch.copy(source, as: "model")
        let shard = try #require(try FileManager.default.contentsOfDirectory(atPath: model.path).first { $0.hasPrefix("model-0000") })
        try FileManager.default.removeItem(at: model.appendingPathComponent(shard))
        let error = #expect(throws: LoMAModelError.self) { try LlamaModel.load(directory: model) }
        #expect(error?.message.contains(shard) == true, "\(String(describing: error))")
    }
}
