import Foundation
import LoMAModel
import LoMATestSupport
import Testing

/// The fixtures recorded from transformers itself (`Tools/make_transformers_fixtures.py`).
let transformersFixtures = ModelFixtures(root: Bundle.module.bundleURL.appendingPathComponent("Fixtures/transformers"))

/// The engine against transformers (issue 15 item 8): checkpoints written by `save_pretrained` and
/// memory KV computed by transformers' own Llama and Qwen2 forward passes, for the llama3 and
/// linear RoPE scalings and the bias paths (Llama q/k/v/o and MLP biases, Qwen2 q/k/v only). The
/// golden cases check the engine against the numpy reference; these catch what both could share,
/// such as a config field read the same wrong way in Swift and numpy.
@Suite struct TransformersCrossCheckTests {
    /// What the generator recorded beside each case: transformers' `inv_freq` buffer.
    struct Recorded: Decodable {
        let transformersVersion: String
        let ropeType: String
        let invFreq: [Double]
    }

    static func recorded(_ fixtureCase: ModelFixtureCase) throws -> Recorded {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return try decoder.decode(Recorded.self, from: Data(contentsOf: fixtureCase.directory.appendingPathComponent("transformers.json")))
    }

    /// A regenerated fixture set must still cover the paths the issue names.
    @Test func coversTheNamedPaths() throws {
        let cases = try transformersFixtures.caseNames().map(transformersFixtures.loadCase)
        let configurations = try cases.map { try ModelConfiguration.load(from: $0.modelDirectory.appendingPathComponent("config.json")) }
        #expect(Set(configurations.map(\.rope.kind)) == [.default, .linear, .llama3])
        #expect(configurations.contains { $0.architecture == .qwen2 && $0.qkvBias && !$0.outputBias })
        #expect(configurations.contains { $0.architecture == .llama && $0.qkvBias && $0.outputBias && $0.mlpBias })
        #expect(cases.contains { $0.description.hasContext } && cases.contains { $0.description.segments > 1 })
    }

    /// transformers computes `inv_freq` in float32, hence the 1e-6 relative bound.
    @Test(arguments: try transformersFixtures.caseNames())
    func inverseFrequenciesMatchTransformers(_ name: String) throws {
        let fixtureCase = try transformersFixtures.loadCase(name)
        let recorded = try Self.recorded(fixtureCase)
        let configuration = try ModelConfiguration.load(from: fixtureCase.modelDirectory.appendingPathComponent("config.json"))
        #expect(configuration.rope.kind.rawValue == recorded.ropeType)
        let ours = configuration.rope.inverseFrequencies(headDim: configuration.headDim)
        try #require(ours.count == recorded.invFreq.count, "\(name): \(ours.count) frequencies, transformers has \(recorded.invFreq.count)")
        for (index, (mine, theirs)) in zip(ours, recorded.invFreq).enumerated() {
            #expect(abs(mine / theirs - 1) < 1e-6,
                    "\(name): inv_freq[\(index)] \(mine), transformers \(recorded.transformersVersion) has \(theirs)")
        }
    }

    @Test(arguments: try transformersFixtures.caseNames())
    func memoryMatchesTransformers(_ name: String) throws {
        let fixtureCase = try transformersFixtures.loadCase(name)
        let model = try LlamaModel.load(directory: fixtureCase.modelDirectory)
        let result = try compressCase(fixtureCase, model: model)
        try expectMatchesGolden(result, fixtureCase)
    }
}
