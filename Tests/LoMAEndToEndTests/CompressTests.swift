import Foundation
import LoMAClient
import LoMAModel
import LoMAProtocol
import LoMATestSupport
import Testing

/// Wire payloads made from the golden fixtures' KV files.
enum FixturePayload {
    static func wireDType(_ dtype: DType?) -> Loma_V1_DType {
        switch dtype {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case nil: .unspecified
        }
    }

    static func tensor(_ file: SafetensorsFile, _ name: String, layout: Loma_V1_KVLayout) throws -> TensorPayload {
        let info = try file.info(name)
        return TensorPayload(bytes: Data(file.bytes(of: info)), dtype: wireDType(info.dtype), shape: info.shape, layout: layout)
    }

    /// A received f32 tensor as an engine tensor, for comparison with the golden output.
    static func float32(_ tensor: ReceivedTensor) -> Tensor {
        let values = tensor.bytes.withUnsafeBytes { raw in
            (0..<(raw.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        }
        return Tensor(shape: tensor.shape, values: values)
    }

    /// Compresses one golden case through `client`, the way an inference server would.
    static func compress(_ fixtureCase: ModelFixtureCase, client: LoMAClient, model: String,
                         outputDType: Loma_V1_DType = .f32, outputLayout: Loma_V1_KVLayout = .headsMajor) async throws -> CompressedMemory {
        let layout: Loma_V1_KVLayout = fixtureCase.description.layout == "tokens_major" ? .tokensMajor : .headsMajor
        let input = try SafetensorsFile(url: fixtureCase.input)
        var context: (keys: TensorPayload, values: TensorPayload)?
        if let url = fixtureCase.context {
            let file = try SafetensorsFile(url: url)
            context = (try tensor(file, "keys", layout: .headsMajor), try tensor(file, "values", layout: .headsMajor))
        }
        let method: Loma_V1_CompressionMethod = switch fixtureCase.description.method {
        case "mean_pool": .meanPool
        case "strided": .strided
        default: .loma
        }
        return try await client.compress(
            keys: try tensor(input, "keys", layout: layout), values: try tensor(input, "values", layout: layout),
            context: context,
            options: CompressOptions(model: model, position: UInt64(fixtureCase.description.position),
                                     outputDType: outputDType, outputLayout: outputLayout, method: method))
    }
}

@Suite("compress through a real lomad process")
struct CompressTests {
    static let fixtures = RepositoryPaths.modelFixtures

    @Test("every golden case matches the numpy reference end to end", arguments: try fixtures.caseNames())
    func goldenCase(_ name: String) async throws {
        let fixtureCase = try Self.fixtures.loadCase(name)
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(fixtureCase.modelDirectory.path)"])
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(60), retries: 0)
        let memory = try await FixturePayload.compress(fixtureCase, client: client, model: "m")
        let expected = try KVFileComparison.expected(fixtureCase.expected)
        #expect(KVFileComparison.relativeError(FixturePayload.float32(memory.keys), expected.keys) < 1e-4)
        #expect(KVFileComparison.relativeError(FixturePayload.float32(memory.values), expected.values) < 1e-4)
        #expect(memory.positions == expected.positions)
        #expect(memory.segments == fixtureCase.description.segments)
    }

    @Test("bf16 tokens-major output is the same memory, transposed and rounded")
    func outputDTypeAndLayout() async throws {
        let fixtureCase = try Self.fixtures.loadCase(try #require(try Self.fixtures.caseNames().first))
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(fixtureCase.modelDirectory.path)"])
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(60), retries: 0)
        let memory = try await FixturePayload.compress(fixtureCase, client: client, model: "m",
                                                       outputDType: .bf16, outputLayout: .tokensMajor)
        let expected = try KVFileComparison.expected(fixtureCase.expected).keys
        #expect(memory.keys.dtype == .bf16)
        #expect(memory.keys.layout == .tokensMajor)
        let (layers, heads, tokens, headDim) = (expected.shape[0], expected.shape[1], expected.shape[2], expected.shape[3])
        #expect(memory.keys.shape == [layers, tokens, heads, headDim])
        let received = memory.keys.bytes.withUnsafeBytes { raw in
            (0..<(raw.count / 2)).map { Float(bitPattern: UInt32(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) << 16) }
        }
        var transposed = [Float](repeating: 0, count: received.count)
        for layer in 0..<layers { for token in 0..<tokens { for head in 0..<heads { for dim in 0..<headDim {
            transposed[((layer * heads + head) * tokens + token) * headDim + dim] =
                received[((layer * tokens + token) * heads + head) * headDim + dim]
        } } } }
        // bf16 keeps 8 bits of mantissa: about 0.4% relative error per element at most.
        #expect(KVFileComparison.relativeError(Tensor(shape: expected.shape, values: transposed), expected) < 5e-3)
    }

    @Test("concurrent requests for one model share passes and each gets its own memory")
    func batchedRequests() async throws {
        let fixtureCase = try Self.fixtures.loadCase(try #require(try Self.fixtures.caseNames().first))
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(fixtureCase.modelDirectory.path)",
                                                   "--workers", "1", "--batch-window-ms", "200"])
        let endpoint = try Endpoint(daemon.endpoint)
        let expected = try KVFileComparison.expected(fixtureCase.expected)
        try await withThrowingTaskGroup(of: Double.self) { group in
            for _ in 0..<6 {
                group.addTask {
                    let client = try LoMAClient(endpoint: endpoint, timeout: .seconds(60), retries: 0)
                    let memory = try await FixturePayload.compress(fixtureCase, client: client, model: "m")
                    return KVFileComparison.relativeError(FixturePayload.float32(memory.values), expected.values)
                }
            }
            for try await error in group { #expect(error < 1e-4) }
        }
        let stats = try await LoMAClient(endpoint: endpoint).stats()
        let served = stats.batchSizes.reduce(0) { $0 + Int($1.batchSize) * Int($1.count) }
        #expect(served == 6)
        #expect(stats.batchSizes.contains { $0.batchSize > 1 }, "batch sizes: \(stats.batchSizes)")
    }

    @Test("SIGTERM answers a request the daemon already accepted before exiting")
    func sigtermAnswersAcceptedRequest() async throws {
        let fixtureCase = try Self.fixtures.loadCase(try #require(try Self.fixtures.caseNames().first))
        // A batch window far longer than the test keeps the request waiting inside the daemon
        // until SIGTERM arrives, however slowly this busy machine runs the polling below.
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(fixtureCase.modelDirectory.path)",
                                                   "--batch-window-ms", "600000"])
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(120), retries: 0)
        async let memory = FixturePayload.compress(fixtureCase, client: client, model: "m")
        let monitor = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(30))
        let giveUp = ContinuousClock.now + .seconds(60)
        while try await monitor.stats().queueDepth == 0 {
            try #require(ContinuousClock.now < giveUp, "the compress request never reached the daemon's queue")
            try await Task.sleep(for: .milliseconds(10))
        }
        daemon.process.terminate()
        let answered = try await memory
        #expect(answered.positions == (try KVFileComparison.expected(fixtureCase.expected).positions))
        #expect(daemon.stop() == 0)
    }

    @Test("bad compress requests get precise statuses and the daemon keeps serving")
    func badRequests() async throws {
        let fixtureCase = try Self.fixtures.loadCase(try #require(try Self.fixtures.caseNames().first))
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(fixtureCase.modelDirectory.path)"])
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(60), retries: 0)
        let input = try SafetensorsFile(url: fixtureCase.input)
        let keys = try FixturePayload.tensor(input, "keys", layout: .headsMajor)
        let values = try FixturePayload.tensor(input, "values", layout: .headsMajor)

        await #expect { try await client.compress(keys: keys, values: values, options: CompressOptions(model: "nope")) }
            throws: { ($0 as? StatusError)?.code == .notFound && "\($0)".contains("unknown model 'nope'") }

        // The same bytes described as heads x tokens kv heads of one token: only the model check can catch it.
        var wrongHeads = keys
        wrongHeads.shape = [keys.shape[0], keys.shape[1] * keys.shape[2], 1, keys.shape[3]]
        await #expect { try await client.compress(keys: wrongHeads, values: wrongHeads, options: CompressOptions(model: "m")) }
            throws: { ($0 as? StatusError)?.code == .invalidArgument }

        var nan = keys
        nan.bytes.replaceSubrange(0..<4, with: withUnsafeBytes(of: Float.nan.bitPattern) { Data($0) })
        if nan.dtype == .f32 {
            await #expect { try await client.compress(keys: nan, values: values, options: CompressOptions(model: "m", checkFinite: true)) }
                throws: { ($0 as? StatusError)?.code == .invalidArgument && "\($0)".contains("NaN") }
        }
        #expect(try await client.health().models.map(\.name) == ["m"])
    }

    @Test("a daemon without a model says so")
    func noModel() async throws {
        let daemon = try DaemonProcess(environment: ["LOMAD_MODEL_DIR": "/nonexistent/lomad-model"])
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), retries: 0)
        let payload = TensorPayload(bytes: Data(count: 64), dtype: .f32, shape: [1, 1, 4, 4])
        await #expect { try await client.compress(keys: payload, values: payload) }
            throws: { ($0 as? StatusError)?.code == .notFound && "\($0)".contains("serves no model") }
    }
}
