import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Testing
import ZeroMQ

/// In memory mode the broker answers store operations itself (`OperationHandler.servesOnBroker`);
/// in durable mode workers do. Both must answer every request alike, failures included, and the
/// broker's answers must not wait behind compute.
@Suite("store operations served on the broker")
struct StoreFastPathTests {
    /// One reply as bytes: the envelope, then each tensor frame in frame order.
    private static func bytes(of reply: DecodedMessage<Loma_V1_Reply>) throws -> [[UInt8]] {
        let tensors = reply.tensors.sorted { $0.key < $1.key }.map { $0.value.frame.bytes }
        return [try reply.envelope.serializedBytes()] + tensors
    }

    /// Store requests covering every operation the broker serves, their failures (unknown
    /// sequence, range past the end, malformed hash, unknown model, existing fork target) and
    /// output conversions, given `memory` of two segments compressed into sequence "s".
    private static func script(memory: CompressedMemory) throws -> [(String, [[UInt8]])] {
        func read(_ sequence: String, first: UInt32 = 0, count: UInt32 = 0, dtype: Loma_V1_DType = .unspecified,
                  layout: Loma_V1_KVLayout = .unspecified) throws -> [[UInt8]] {
            var request = Loma_V1_ReadMemoryRequest()
            request.sequence = sequence
            request.firstSegment = first
            request.segmentCount = count
            request.outputDtype = dtype
            request.outputLayout = layout
            return [try ReliabilityFrames.envelope(.readMemory(request))]
        }
        let hashes = (0..<2).map { chunk in (0..<32).map { UInt8(truncatingIfNeeded: chunk * 7 + $0) } }
        func publish(model: String = "m", hashes: [[UInt8]] = hashes) throws -> [[UInt8]] {
            var request = Loma_V1_PublishPrefixRequest()
            request.model = model
            request.chunkHashes = hashes.map { Data($0) }
            request.positions = memory.positions
            let keys = TensorPayload(bytes: memory.keys.bytes, dtype: memory.keys.dtype, shape: memory.keys.shape)
            let values = TensorPayload(bytes: memory.values.bytes, dtype: memory.values.dtype, shape: memory.values.shape)
            request.memory.keys = LoMAClient.descriptor(for: keys, frame: 1)
            request.memory.values = LoMAClient.descriptor(for: values, frame: 2)
            return [try ReliabilityFrames.envelope(.publishPrefix(request)), [UInt8](keys.bytes), [UInt8](values.bytes)]
        }
        func lookup(_ hashes: [[UInt8]], model: String = "m", dtype: Loma_V1_DType = .unspecified) throws -> [[UInt8]] {
            var request = Loma_V1_LookupPrefixRequest()
            request.model = model
            request.chunkHashes = hashes.map { Data($0) }
            request.outputDtype = dtype
            return [try ReliabilityFrames.envelope(.lookupPrefix(request))]
        }
        var fork = Loma_V1_ForkSequenceRequest()
        fork.source = "s"
        fork.destination = "t"
        var delete = Loma_V1_DeleteSequenceRequest()
        delete.sequence = "t"
        var list = Loma_V1_ListSequencesRequest()
        list.namePrefix = ""
        let unknown = [UInt8](repeating: 0xEE, count: 32)
        return [
            ("read all", try read("s")),
            ("read second segment as bf16 tokens-major", try read("s", first: 1, count: 1, dtype: .bf16, layout: .tokensMajor)),
            ("read past the end", try read("s", first: 1, count: 5)),
            ("read unknown sequence", try read("nobody")),
            ("read invalid name", try read("bad/name")),
            ("publish", try publish()),
            ("publish again", try publish()),
            ("publish to unknown model", try publish(model: "nope")),
            ("publish with a hash too few", try publish(hashes: [hashes[0]])),
            ("lookup two chunks", try lookup(hashes)),
            ("lookup first then unknown, as f16", try lookup([hashes[0], unknown], dtype: .f16)),
            ("lookup unknown", try lookup([unknown])),
            ("lookup malformed hash", try lookup([[1, 2, 3]])),
            ("lookup unknown model", try lookup(hashes, model: "nope")),
            ("fork", [try ReliabilityFrames.envelope(.forkSequence(fork))]),
            ("fork onto existing", [try ReliabilityFrames.envelope(.forkSequence(fork))]),
            ("list", [try ReliabilityFrames.envelope(.listSequences(list))]),
            ("delete", [try ReliabilityFrames.envelope(.deleteSequence(delete))]),
            ("delete missing", [try ReliabilityFrames.envelope(.deleteSequence(delete))]),
        ]
    }

    /// Runs the script against a fresh daemon started with `extra` arguments.
    private static func replies(extra: [String], setup: StoreOperationTests.Setup) async throws -> [(String, [[UInt8]])] {
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(setup.fixtureCase.modelDirectory.path)"] + extra)
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(60), retries: 0)
        _ = try await setup.compress(0, into: "s", client: client)
        let memory = try await setup.compress(1, into: "s", client: client)
        let probe = try WireProbe(endpoint: daemon.endpoint)
        return try script(memory: memory).map { name, frames in
            let reply = try #require(try probe.exchange(frames), "no reply to \(name)")
            return (name, try bytes(of: reply))
        }
    }

    @Test("memory mode (served on the broker) and durable mode (served by workers) answer every store request alike")
    func brokerAndWorkerAnswerAlike() async throws {
        let setup = try StoreOperationTests.Setup()
        let storeDir = try TemporaryDirectory("lomad-store")
        defer { storeDir.remove() }
        let onBroker = try await Self.replies(extra: [], setup: setup)
        let onWorkers = try await Self.replies(extra: ["--durable", "--store-dir", storeDir.path], setup: setup)
        #expect(onBroker.count == onWorkers.count)
        var failures = Set<Loma_V1_StatusCode>()
        for ((name, broker), (_, worker)) in zip(onBroker, onWorkers) {
            #expect(broker == worker, "\(name): the broker's reply differs from the worker's")
            let envelope = try Loma_V1_Reply(serializedBytes: broker[0])
            if envelope.status.code != .ok { failures.insert(envelope.status.code) }
        }
        // The script really exercised failures of several kinds, not only successes.
        #expect(failures.isSuperset(of: [.notFound, .invalidArgument, .failedPrecondition]), "\(failures)")
    }

    @Test("in memory mode a store read sent right after a compress, to a daemon with one worker, is answered first")
    func storeReadsDoNotQueueBehindCompute() async throws {
        let model = RepositoryPaths.modelFixtures.model("llama_gqa")
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(model.path)", "--workers", "1", "--batch-window-ms", "0"])
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(120), retries: 0)
        let geometry = try await ReliabilityModelGeometry.of(client)
        let (small, smallValues) = geometry.segment(segments: 1, seed: 3)
        _ = try await client.compress(keys: small, values: smallValues, options: CompressOptions(model: "m", sequence: "s"))

        // One connection, so the broker reads the two requests in the order they were sent. A
        // read handed to the only worker would wait for the pass and be answered after it (the
        // broker forwards the compress reply before it hands the worker the read).
        let (keys, values) = geometry.segment(segments: 1024, seed: 4)
        var read = Loma_V1_ReadMemoryRequest()
        read.sequence = "s"
        let probe = try WireProbe(endpoint: daemon.endpoint)
        try probe.socket.send(try ReliabilityFrames.compress(keys: keys, values: values, id: 1).map { ZMQFrame(bytes: $0) })
        try probe.socket.send([ZMQFrame(bytes: try ReliabilityFrames.envelope(.readMemory(read), id: 2))])
        let first = try #require(try probe.receive(timeout: .seconds(120)))
        let second = try #require(try probe.receive(timeout: .seconds(120)))
        #expect(first.envelope.requestID == 2, "the read was answered after the compress sent before it")
        #expect(first.envelope.status.code == .ok, "\(first.envelope.status.message)")
        #expect(first.tensors.count == 2)
        #expect(second.envelope.requestID == 1)
        #expect(second.envelope.status.code == .ok, "\(second.envelope.status.message)")
    }
}
