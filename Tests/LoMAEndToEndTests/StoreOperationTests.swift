import Foundation
import LoMAClient
import LoMAModel
import LoMAProtocol
import LoMATestSupport
import Testing

/// Tokens `range` of a heads-major KV payload, as a payload of its own.
private func sliceTokens(_ payload: TensorPayload, _ range: Range<Int>) -> TensorPayload {
    let (layers, heads, tokens, headDim) = (payload.shape[0], payload.shape[1], payload.shape[2], payload.shape[3])
    let element = payload.dtype == .f32 ? 4 : 2
    var bytes = Data()
    for row in 0..<(layers * heads) {
        let start = (row * tokens + range.lowerBound) * headDim * element
        bytes.append(payload.bytes[payload.bytes.startIndex + start ..< payload.bytes.startIndex + start + range.count * headDim * element])
    }
    return TensorPayload(bytes: bytes, dtype: payload.dtype, shape: [layers, heads, range.count, headDim], layout: .headsMajor)
}

@Suite("sequences and prefixes through a real lomad process")
struct StoreOperationTests {
    /// A heads-major, f32, loma case without context, over several segments.
    static func multiSegmentCase() throws -> ModelFixtureCase {
        let fixtures = RepositoryPaths.modelFixtures
        let cases = try fixtures.caseNames().map(fixtures.loadCase)
        return try #require(cases.first {
            $0.description.segments > 1 && !$0.description.hasContext && $0.description.method == "loma"
                && $0.description.layout == "heads_major" && $0.description.inputDType == "f32"
        })
    }

    struct Setup {
        let fixtureCase: ModelFixtureCase
        let keys: TensorPayload
        let values: TensorPayload
        let segmentLength: Int
        let expected: (keys: Tensor, values: Tensor, positions: [Int64])

        init() throws {
            fixtureCase = try StoreOperationTests.multiSegmentCase()
            let input = try SafetensorsFile(url: fixtureCase.input)
            keys = try FixturePayload.tensor(input, "keys", layout: .headsMajor)
            values = try FixturePayload.tensor(input, "values", layout: .headsMajor)
            segmentLength = keys.shape[2] / fixtureCase.description.segments
            expected = try KVFileComparison.expected(fixtureCase.expected)
        }

        func segment(_ index: Int) -> (keys: TensorPayload, values: TensorPayload) {
            let range = (index * segmentLength)..<((index + 1) * segmentLength)
            return (sliceTokens(keys, range), sliceTokens(values, range))
        }

        /// Compresses segment `index` into `sequence`, the first at the case's position and the
        /// rest where the sequence ended.
        func compress(_ index: Int, into sequence: String, client: LoMAClient) async throws -> CompressedMemory {
            let (keys, values) = segment(index)
            let position: UInt64? = index == 0 ? UInt64(fixtureCase.description.position) : nil
            return try await client.compress(keys: keys, values: values, options: CompressOptions(
                model: "m", sequence: sequence, position: position, outputDType: .f32, outputLayout: .headsMajor))
        }
    }

    private static func client(_ daemon: DaemonProcess) throws -> LoMAClient {
        try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(60), retries: 0)
    }

    @Test("segment by segment into a sequence equals one multi-segment pass (loma-spec 3.3)")
    func sequenceEqualsMultiSegmentPass() async throws {
        let setup = try Setup()
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(setup.fixtureCase.modelDirectory.path)"])
        let client = try Self.client(daemon)
        for index in 0..<setup.fixtureCase.description.segments {
            _ = try await setup.compress(index, into: "chat-1", client: client)
        }
        let (memory, info) = try await client.readMemory(sequence: "chat-1", outputDType: .f32)
        let stored = try #require(memory)
        #expect(info.segments == UInt32(setup.fixtureCase.description.segments))
        #expect(KVFileComparison.relativeError(FixturePayload.float32(stored.keys), setup.expected.keys) < 1e-4)
        #expect(KVFileComparison.relativeError(FixturePayload.float32(stored.values), setup.expected.values) < 1e-4)
        #expect(stored.positions == setup.expected.positions)

        let middle = try #require(try await client.readMemory(sequence: "chat-1", firstSegment: 1, segmentCount: 1).memory)
        let perSegment = setup.expected.positions.count / setup.fixtureCase.description.segments
        #expect(middle.positions == Array(setup.expected.positions[perSegment..<(2 * perSegment)]))
    }

    @Test("fork is copy-on-write; delete and list; errors leave sequences as they were")
    func forkDeleteListAndErrors() async throws {
        let setup = try Setup()
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(setup.fixtureCase.modelDirectory.path)"])
        let client = try Self.client(daemon)
        _ = try await setup.compress(0, into: "base", client: client)
        try await client.forkSequence(source: "base", destination: "branch")
        _ = try await setup.compress(1, into: "branch", client: client)
        let listed = try await client.listSequences()
        #expect(listed.map(\.name) == ["base", "branch"])
        #expect(listed.map(\.segments) == [1, 2])

        // The same segment again: its position is behind where "base" ended.
        let before = try await client.listSequences()
        await #expect { try await setup.compress(0, into: "base", client: client) }
            throws: { ($0 as? StatusError)?.code == .failedPrecondition && "\($0)".contains("position goes backwards") }
        await #expect { try await client.forkSequence(source: "base", destination: "branch") }
            throws: { ($0 as? StatusError)?.code == .failedPrecondition }
        await #expect { try await client.readMemory(sequence: "missing") }
            throws: { ($0 as? StatusError)?.code == .notFound }
        await #expect { try await client.readMemory(sequence: "base", firstSegment: 5) }
            throws: { ($0 as? StatusError)?.code == .invalidArgument }
        #expect(try await client.listSequences() == before)

        try await client.deleteSequence("branch")
        #expect(try await client.listSequences(namePrefix: "b").map(\.name) == ["base"])
        await #expect { try await client.deleteSequence("branch") } throws: { ($0 as? StatusError)?.code == .notFound }
        let stats = try await client.stats()
        #expect(stats.store.mode == "memory")
        #expect(stats.store.sequences == 1)
    }

    @Test("a durable store restores acknowledged memory after SIGTERM and after SIGKILL")
    func durableRestart() async throws {
        let setup = try Setup()
        let storeDir = try TemporaryDirectory("lomad-store")
        defer { storeDir.remove() }
        let arguments = ["--model", "m=\(setup.fixtureCase.modelDirectory.path)", "--durable", "--store-dir", storeDir.path]
        let first = try DaemonProcess(arguments: arguments)
        let written = try await setup.compress(0, into: "kept", client: try Self.client(first))
        #expect(first.stop() == 0)

        let second = try DaemonProcess(arguments: arguments)
        let client = try Self.client(second)
        let restored = try #require(try await client.readMemory(sequence: "kept", outputDType: .f32).memory)
        #expect(restored.keys.bytes == written.keys.bytes)
        #expect(restored.values.bytes == written.values.bytes)
        _ = try await setup.compress(1, into: "kept", client: client)
        second.killAndWait()

        let third = try DaemonProcess(arguments: arguments)
        let (memory, info) = try await Self.client(third).readMemory(sequence: "kept", outputDType: .f32)
        #expect(info.segments == 2)
        let perSegment = setup.expected.positions.count / setup.fixtureCase.description.segments
        #expect(memory?.positions == Array(setup.expected.positions[0..<(2 * perSegment)]))
        #expect(try await Self.client(third).stats().store.mode == "durable")
    }

    @Test("published prefix memory is found by the longest matching chain of chunk hashes")
    func prefixPublishAndLookup() async throws {
        let setup = try Setup()
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(setup.fixtureCase.modelDirectory.path)"])
        let client = try Self.client(daemon)
        let memory = try await client.compress(keys: setup.keys, values: setup.values, options: CompressOptions(model: "m"))
        let chunks = setup.fixtureCase.description.segments
        let hashes = (0..<chunks).map { chunk in (0..<32).map { UInt8(truncatingIfNeeded: chunk * 31 + $0) } }
        let keys = TensorPayload(bytes: memory.keys.bytes, dtype: memory.keys.dtype, shape: memory.keys.shape)
        let values = TensorPayload(bytes: memory.values.bytes, dtype: memory.values.dtype, shape: memory.values.shape)
        #expect(try await client.publishPrefix(model: "m", chunkHashes: hashes, keys: keys, values: values,
                                               positions: memory.positions) == chunks)
        #expect(try await client.publishPrefix(model: "m", chunkHashes: hashes, keys: keys, values: values,
                                               positions: memory.positions) == 0)

        // Without positions the daemon places the memory where LoMA puts it for a prompt at 0,
        // which is where the compress above (no position given) put it.
        let unplaced = hashes.map { $0.map { $0 ^ 0x5A } }
        #expect(try await client.publishPrefix(model: "m", chunkHashes: unplaced, keys: keys, values: values) == chunks)
        let placed = try await client.lookupPrefix(model: "m", chunkHashes: unplaced)
        #expect(placed.matchedChunks == chunks)
        #expect(placed.memory?.positions == memory.positions)

        let unknown = [UInt8](repeating: 0xEE, count: 32)
        let found = try await client.lookupPrefix(model: "m", chunkHashes: Array(hashes.prefix(2)) + [unknown], outputDType: .f32)
        #expect(found.matchedChunks == 2)
        let perChunk = memory.positions.count / chunks
        #expect(found.memory?.positions == Array(memory.positions.prefix(2 * perChunk)))
        let none = try await client.lookupPrefix(model: "m", chunkHashes: [unknown])
        #expect(none.matchedChunks == 0)
        #expect(none.memory == nil)
        await #expect { try await client.lookupPrefix(model: "m", chunkHashes: [[1, 2, 3]]) }
            throws: { ($0 as? StatusError)?.code == .invalidArgument }
    }

    @Test("a full memory store answers resource_exhausted and keeps what it had")
    func fullStore() async throws {
        let setup = try Setup()
        let probe = try DaemonProcess(arguments: ["--model", "m=\(setup.fixtureCase.modelDirectory.path)"])
        let model = try #require(try await Self.client(probe).health().models.first)
        probe.stop()
        // Room for one segment's memory (keys and values, f32) and a half.
        let segmentBytes = 2 * 4 * Int(model.layers * model.kvHeads * model.memoryTokensPerSegment * model.headDim)
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(setup.fixtureCase.modelDirectory.path)",
                                                   "--ram-budget-bytes", "\(segmentBytes * 3 / 2)"])
        let client = try Self.client(daemon)
        _ = try await setup.compress(0, into: "a", client: client)
        let before = try await client.listSequences()
        await #expect { try await setup.compress(1, into: "a", client: client) }
            throws: { ($0 as? StatusError)?.code == .resourceExhausted }
        #expect(try await client.listSequences() == before)
        #expect(try await client.readMemory(sequence: "a").sequence.segments == 1)
    }
}
