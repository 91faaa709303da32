import Foundation
import LoMAClient
import LoMAModel
import LoMAProtocol
import LoMATestSupport
import Testing

/// Decisions about requests that are well-formed but unusual (docs/protocol.md, "Compress
/// semantics"): each is tested here against a real daemon.
@Suite("compress semantics: mixed layouts, inline context, baselines and sequences")
struct CompressSemanticsTests {
    /// `payload` (heads-major) rewritten tokens-major, element by element.
    private static func tokensMajor(_ payload: TensorPayload, elementSize: Int) -> TensorPayload {
        let shape = payload.shape
        let (layers, heads, tokens, headDim) = (shape[0], shape[1], shape[2], shape[3])
        let row = headDim * elementSize
        var bytes = Data(count: payload.bytes.count)
        payload.bytes.withUnsafeBytes { source in
            bytes.withUnsafeMutableBytes { target in
                for layer in 0..<layers {
                    for head in 0..<heads {
                        for token in 0..<tokens {
                            let from = ((layer * heads + head) * tokens + token) * row
                            let to = ((layer * tokens + token) * heads + head) * row
                            target[to..<(to + row)].copyBytes(from: source[from..<(from + row)])
                        }
                    }
                }
            }
        }
        return TensorPayload(bytes: bytes, dtype: payload.dtype, shape: [layers, tokens, heads, headDim], layout: .tokensMajor)
    }

    @Test("keys and values may come in different layouts: each is read in its own, the memory is the same")
    func mixedLayouts() async throws {
        // Three segments after 6 context tokens (not a whole segment): the inline context may
        // hold any number of tokens, which the golden case checks against the numpy reference.
        let fixtureCase = try RepositoryPaths.modelFixtures.loadCase("llama_gqa_f16_context_3seg")
        #expect(fixtureCase.description.layout == "heads_major")
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(fixtureCase.modelDirectory.path)"])
        defer { daemon.stop() }
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(60), retries: 0)
        let input = try SafetensorsFile(url: fixtureCase.input)
        let keys = try FixturePayload.tensor(input, "keys", layout: .headsMajor)
        let values = try FixturePayload.tensor(input, "values", layout: .headsMajor)
        let contextFile = try SafetensorsFile(url: try #require(fixtureCase.context))
        let context = (keys: try FixturePayload.tensor(contextFile, "keys", layout: .headsMajor),
                       values: try FixturePayload.tensor(contextFile, "values", layout: .headsMajor))
        let options = CompressOptions(model: "m", position: UInt64(fixtureCase.description.position),
                                      outputDType: .f32, outputLayout: .headsMajor)
        let expected = try KVFileComparison.expected(fixtureCase.expected)
        for (name, keys, values) in [("values tokens-major", keys, Self.tokensMajor(values, elementSize: 2)),
                                     ("keys tokens-major", Self.tokensMajor(keys, elementSize: 2), values)] {
            let memory = try await client.compress(keys: keys, values: values, context: context, options: options)
            #expect(KVFileComparison.relativeError(FixturePayload.float32(memory.keys), expected.keys) < 1e-4, "\(name)")
            #expect(KVFileComparison.relativeError(FixturePayload.float32(memory.values), expected.values) < 1e-4, "\(name)")
            #expect(memory.positions == expected.positions, "\(name)")
        }
    }

    @Test("baseline memory never extends a sequence: refused, nothing stored; LoMA memory does")
    func baselinesStayOutOfSequences() async throws {
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(RepositoryPaths.modelFixtures.model("llama_gqa").path)"])
        defer { daemon.stop() }
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(60), retries: 0)
        let geometry = try await ReliabilityModelGeometry.of(client)
        let (keys, values) = geometry.segment(seed: 9)
        for method in [Loma_V1_CompressionMethod.meanPool, .strided] {
            do {
                _ = try await client.compress(keys: keys, values: values,
                                              options: CompressOptions(model: "m", sequence: "chat", method: method))
                Issue.record("\(method) into a sequence succeeded")
            } catch let error as StatusError {
                #expect(error.code == .invalidArgument)
                #expect(error.message.contains("sequences hold LoMA memory only"), "\(error)")
            }
            // Without a sequence the baseline is served.
            let memory = try await client.compress(keys: keys, values: values, options: CompressOptions(model: "m", method: method))
            #expect(memory.segments == 1)
        }
        #expect(try await client.listSequences().isEmpty)
        _ = try await client.compress(keys: keys, values: values, options: CompressOptions(model: "m", sequence: "chat"))
        #expect(try await client.readMemory(sequence: "chat").sequence.segments == 1)
    }
}
