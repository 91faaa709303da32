import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Testing
import ZeroMQ

/// One more bad request for issue 8's malformed-input suite. Its frames are built against the
/// served model's geometry so that only the one thing the case names is wrong.
struct ReliabilityMalformedCase: CustomTestStringConvertible, Sendable {
    let name: String
    let frames: @Sendable (ReliabilityModelGeometry) throws -> [[UInt8]]
    let code: Loma_V1_StatusCode
    /// A phrase the message must contain (empty for `.ok`).
    let phrase: String

    var testDescription: String { name }
}

/// The name of the sequence every case's store holds before the bad request.
private let seeded = "seeded"

private func compress(_ geometry: ReliabilityModelGeometry,
                      _ configure: @escaping (inout Loma_V1_CompressRequest) -> Void = { _ in }) throws -> [[UInt8]] {
    let (keys, values) = geometry.segment(seed: 11)
    return try ReliabilityFrames.compress(keys: keys, values: values, configure)
}

private func withValues(_ geometry: ReliabilityModelGeometry, _ values: TensorPayload,
                        _ configure: @escaping (inout Loma_V1_CompressRequest) -> Void = { _ in }) throws -> [[UInt8]] {
    try ReliabilityFrames.compress(keys: geometry.segment(seed: 11).keys, values: values, configure)
}

private func single(_ operation: Loma_V1_Request.OneOf_Operation) throws -> [[UInt8]] {
    [try ReliabilityFrames.envelope(operation)]
}

private func readMemory(_ configure: (inout Loma_V1_ReadMemoryRequest) -> Void) throws -> [[UInt8]] {
    var request = Loma_V1_ReadMemoryRequest()
    request.sequence = seeded
    configure(&request)
    return try single(.readMemory(request))
}

private func fork(_ source: String, _ destination: String) throws -> [[UInt8]] {
    var request = Loma_V1_ForkSequenceRequest()
    request.source = source
    request.destination = destination
    return try single(.forkSequence(request))
}

private func publish(_ geometry: ReliabilityModelGeometry, hashes: [Data], positions: Int) throws -> [[UInt8]] {
    let memory = geometry.payload(tokens: geometry.memoryTokensPerSegment, seed: 5)
    var request = Loma_V1_PublishPrefixRequest()
    request.model = "m"
    request.chunkHashes = hashes
    request.memory.keys = LoMAClient.descriptor(for: memory, frame: 1)
    request.memory.values = LoMAClient.descriptor(for: memory, frame: 2)
    request.positions = (0..<positions).map { Int64($0) }
    return [try ReliabilityFrames.envelope(.publishPrefix(request)), [UInt8](memory.bytes), [UInt8](memory.bytes)]
}

private func varint(_ value: UInt64) -> [UInt8] {
    var bytes: [UInt8] = []
    var rest = value
    repeat {
        bytes.append(UInt8(rest & 0x7F) | (rest >= 0x80 ? 0x80 : 0))
        rest >>= 7
    } while rest > 0
    return bytes
}

/// An envelope (id 7) whose operation `field` holds the serialized `operation` plus an unknown
/// field 50 (varint 42): proto3 parsers keep unknown fields and otherwise ignore them.
private func withUnknownField(field: UInt64, _ operation: [UInt8], tensors: [[UInt8]] = []) -> [[UInt8]] {
    let inner = operation + [0x90, 0x03, 0x2A]
    let envelope = [0x08, 0x07] + varint(field << 3 | 2) + varint(UInt64(inner.count)) + inner
    return [envelope] + tensors
}

let reliabilityMalformedCases: [ReliabilityMalformedCase] = [
    // Envelope
    // swift-protobuf keeps a known field of the wrong wire type as an unknown field, so the
    // envelope names no operation this daemon knows.
    ReliabilityMalformedCase(name: "an operation field with the wrong wire type (varint for a message)", frames: { _ in
        [[0x08, 0x07, 0x60, 0x01]]
    }, code: .unimplemented, phrase: "does not know"),
    // Likewise a request_id of the wrong wire type is an unknown field: the request (health) is
    // served under id 0.
    ReliabilityMalformedCase(name: "request_id of the wrong wire type (bytes for uint64; ignored: served)", frames: { _ in
        [[0x0A, 0x01, 0x00, 0x52, 0x00]]
    }, code: .ok, phrase: ""),
    ReliabilityMalformedCase(name: "a truncated protobuf envelope", frames: { geometry in
        var frames = try compress(geometry)
        frames[0].removeLast(3)
        return frames
    }, code: .invalidArgument, phrase: "not a valid loma.v1.Request envelope"),
    ReliabilityMalformedCase(name: "frames out of order: a tensor frame before the envelope", frames: { geometry in
        let frames = try compress(geometry)
        return [frames[1].map { _ in 0 }, frames[0], frames[2]]
    }, code: .invalidArgument, phrase: "not a valid loma.v1.Request envelope"),
    ReliabilityMalformedCase(name: "a descriptor naming frame 0, the envelope", frames: { geometry in
        try compress(geometry) { $0.segment.keys.frame = 0 }
    }, code: .invalidArgument, phrase: "frame 0"),
    // Shapes and sizes
    ReliabilityMalformedCase(name: "an absurd shape of 2^40 elements", frames: { geometry in
        try compress(geometry) { $0.segment.keys.shape = [1, 1, 1 << 20, 1 << 20] }
    }, code: .invalidArgument, phrase: "but frame 1 holds"),
    ReliabilityMalformedCase(name: "a negative size (-1 sent as uint64)", frames: { geometry in
        try compress(geometry) { $0.segment.keys.shape[2] = UInt64(bitPattern: -1) }
    }, code: .invalidArgument, phrase: "every axis must be positive"),
    ReliabilityMalformedCase(name: "an empty shape", frames: { geometry in
        try compress(geometry) { $0.segment.keys.shape = [] }
    }, code: .invalidArgument, phrase: "has no shape"),
    ReliabilityMalformedCase(name: "KV of rank 3", frames: { geometry in
        try compress(geometry) {
            $0.segment.keys.shape = [UInt64(geometry.layers * geometry.kvHeads), UInt64(geometry.segmentLength), UInt64(geometry.headDim)]
        }
    }, code: .invalidArgument, phrase: "compress.segment.keys"),
    ReliabilityMalformedCase(name: "tokens not a whole number of segments", frames: { geometry in
        let tokens = geometry.segmentLength + 1
        return try ReliabilityFrames.compress(keys: geometry.payload(tokens: tokens, seed: 1), values: geometry.payload(tokens: tokens, seed: 2))
    }, code: .invalidArgument, phrase: "segment"),
    ReliabilityMalformedCase(name: "KV with a head_dim the model does not have", frames: { geometry in
        let keys = TensorPayload(bytes: ReliabilityPayload.float32Bytes(count: geometry.layers * geometry.kvHeads * geometry.segmentLength * 3, seed: 4),
                                 dtype: .f32, shape: [geometry.layers, geometry.kvHeads, geometry.segmentLength, 3])
        return try ReliabilityFrames.compress(keys: keys, values: keys)
    }, code: .invalidArgument, phrase: "head"),
    ReliabilityMalformedCase(name: "keys and values of different token counts", frames: { geometry in
        try withValues(geometry, geometry.payload(tokens: 2 * geometry.segmentLength, seed: 3))
    }, code: .invalidArgument, phrase: "compress: keys hold 8 tokens but values hold 16"),
    // Dtypes and enums
    // Each tensor is converted from its own dtype, so mixed dtypes are well defined and served.
    ReliabilityMalformedCase(name: "keys f32 but values f16 (converted each: served)", frames: { geometry in
        var values = geometry.segment(seed: 11).values
        values.bytes = values.bytes.prefix(values.bytes.count / 2)
        values.dtype = .f16
        return try withValues(geometry, values)
    }, code: .ok, phrase: ""),
    ReliabilityMalformedCase(name: "KV of dtype i64", frames: { geometry in
        var values = geometry.segment(seed: 11).values
        values.bytes += values.bytes
        values.dtype = .i64
        return try withValues(geometry, values)
    }, code: .invalidArgument, phrase: "KV must be f32, f16 or bf16"),
    ReliabilityMalformedCase(name: "an unknown dtype enum value (77)", frames: { geometry in
        try compress(geometry) { $0.segment.values.dtype = .UNRECOGNIZED(77) }
    }, code: .invalidArgument, phrase: "compress.segment.values has dtype"),
    ReliabilityMalformedCase(name: "an unknown descriptor layout enum value (9)", frames: { geometry in
        try compress(geometry) { $0.segment.keys.layout = .UNRECOGNIZED(9) }
    }, code: .invalidArgument, phrase: "unknown layout"),
    ReliabilityMalformedCase(name: "output dtype i64", frames: { geometry in
        try compress(geometry) { $0.outputDtype = .i64 }
    }, code: .invalidArgument, phrase: "compress.output_dtype i64 is not f32, f16 or bf16"),
    ReliabilityMalformedCase(name: "an unknown output dtype enum value (99)", frames: { geometry in
        try compress(geometry) { $0.outputDtype = .UNRECOGNIZED(99) }
    }, code: .invalidArgument, phrase: "compress.output_dtype"),
    ReliabilityMalformedCase(name: "an unknown output layout enum value (77)", frames: { geometry in
        try compress(geometry) { $0.outputLayout = .UNRECOGNIZED(77) }
    }, code: .invalidArgument, phrase: "compress.output_layout"),
    ReliabilityMalformedCase(name: "an unknown compression method enum value (42)", frames: { geometry in
        try compress(geometry) { $0.method = .UNRECOGNIZED(42) }
    }, code: .invalidArgument, phrase: "compress.method 42"),
    // Values and positions
    ReliabilityMalformedCase(name: "infinity in the values with check_finite", frames: { geometry in
        var values = geometry.segment(seed: 11).values
        values.bytes = ReliabilityPayload.replacingFloat32(values.bytes, at: 5, with: .infinity)
        return try withValues(geometry, values) { $0.checkFinite = true }
    }, code: .invalidArgument, phrase: "compress.segment.values holds NaN or infinity (element 5)"),
    ReliabilityMalformedCase(name: "NaN in the keys of a compress into a sequence, with check_finite", frames: { geometry in
        var (keys, values) = geometry.segment(seed: 11)
        keys.bytes = ReliabilityPayload.replacingFloat32(keys.bytes, at: 0, with: .nan)
        return try ReliabilityFrames.compress(keys: keys, values: values) { $0.checkFinite = true; $0.sequence = seeded }
    }, code: .invalidArgument, phrase: "compress.segment.keys holds NaN or infinity (element 0)"),
    ReliabilityMalformedCase(name: "a position so large the memory positions overflow", frames: { geometry in
        try compress(geometry) { $0.position = UInt64.max - 1 }
    }, code: .invalidArgument, phrase: "compress.position"),
    // Missing parts
    ReliabilityMalformedCase(name: "compress with keys but no values", frames: { geometry in
        Array(try compress(geometry) { $0.segment.clearValues() }.prefix(2))
    }, code: .invalidArgument, phrase: "compress needs segment.keys and segment.values"),
    ReliabilityMalformedCase(name: "inline context with keys but no values", frames: { geometry in
        var frames = try compress(geometry) {
            $0.context.keys = LoMAClient.descriptor(for: geometry.payload(tokens: geometry.segmentLength, seed: 9), frame: 3)
        }
        frames.append([UInt8](geometry.payload(tokens: geometry.segmentLength, seed: 9).bytes))
        return frames
    }, code: .invalidArgument, phrase: "compress.context needs both keys and values"),
    // Sequences
    ReliabilityMalformedCase(name: "read_memory of an empty sequence name", frames: { _ in
        try readMemory { $0.sequence = "" }
    }, code: .invalidArgument, phrase: "sequence"),
    ReliabilityMalformedCase(name: "delete of an empty sequence name", frames: { _ in
        var request = Loma_V1_DeleteSequenceRequest()
        request.sequence = ""
        return try single(.deleteSequence(request))
    }, code: .invalidArgument, phrase: "sequence"),
    ReliabilityMalformedCase(name: "fork onto an empty name", frames: { _ in try fork(seeded, "") },
                             code: .invalidArgument, phrase: "sequence"),
    ReliabilityMalformedCase(name: "fork a sequence onto itself", frames: { _ in try fork(seeded, seeded) },
                             code: .failedPrecondition, phrase: seeded),
    ReliabilityMalformedCase(name: "read_memory of a range past the end", frames: { _ in
        try readMemory { $0.segmentCount = 5 }
    }, code: .invalidArgument, phrase: "read_memory asks for segments 0..<5, but sequence 'seeded' has 1"),
    ReliabilityMalformedCase(name: "read_memory from first_segment 2^32-1", frames: { _ in
        try readMemory { $0.firstSegment = UInt32.max; $0.segmentCount = UInt32.max }
    }, code: .invalidArgument, phrase: "read_memory.first_segment 4294967295 is past"),
    ReliabilityMalformedCase(name: "read_memory with output dtype i64", frames: { _ in
        try readMemory { $0.outputDtype = .i64 }
    }, code: .invalidArgument, phrase: "i64"),
    // Prefixes
    ReliabilityMalformedCase(name: "publish_prefix with a 31-byte chunk hash", frames: { geometry in
        try publish(geometry, hashes: [Data(repeating: 7, count: 31)], positions: geometry.memoryTokensPerSegment)
    }, code: .invalidArgument, phrase: "expected 32"),
    ReliabilityMalformedCase(name: "publish_prefix without chunk hashes", frames: { geometry in
        try publish(geometry, hashes: [], positions: geometry.memoryTokensPerSegment)
    }, code: .invalidArgument, phrase: "publish_prefix needs at least one chunk hash"),
    ReliabilityMalformedCase(name: "publish_prefix with too few positions", frames: { geometry in
        try publish(geometry, hashes: [Data(repeating: 7, count: 32)], positions: 1)
    }, code: .invalidArgument, phrase: "publish_prefix has 1 positions"),
    ReliabilityMalformedCase(name: "lookup_prefix with an empty chunk hash", frames: { _ in
        var request = Loma_V1_LookupPrefixRequest()
        request.model = "m"
        request.chunkHashes = [Data()]
        return try single(.lookupPrefix(request))
    }, code: .invalidArgument, phrase: "expected 32"),
    // Accepted: proto3 ignores unknown fields inside a known operation.
    ReliabilityMalformedCase(name: "an unknown field inside compress (ignored: succeeds)", frames: { geometry in
        let frames = try compress(geometry)
        guard case .compress(let request)? = try Loma_V1_Request(serializedBytes: frames[0]).operation else { return frames }
        return withUnknownField(field: 12, try request.serializedBytes(), tensors: Array(frames.dropFirst()))
    }, code: .ok, phrase: ""),
    ReliabilityMalformedCase(name: "an unknown field inside list_sequences (ignored: succeeds)", frames: { _ in
        withUnknownField(field: 16, try Loma_V1_ListSequencesRequest().serializedBytes())
    }, code: .ok, phrase: ""),
]

@Suite("Reliability: malformed requests leave the store as it was")
struct ReliabilityMalformedTests {
    static let model = RepositoryPaths.modelFixtures.model("llama_gqa")

    @Test(arguments: reliabilityMalformedCases)
    func answeredPreciselyStoreUnchanged(_ badCase: ReliabilityMalformedCase) async throws {
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(Self.model.path)"])
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(30), retries: 0)
        let geometry = try await ReliabilityModelGeometry.of(client)
        let (keys, values) = geometry.segment(seed: 1)
        _ = try await client.compress(keys: keys, values: values, options: CompressOptions(model: "m", sequence: seeded))
        let before = try await ReliabilityStoreDigest.take(client)

        let probe = try WireProbe(endpoint: daemon.endpoint)
        let reply = try #require(try probe.exchange(badCase.frames(geometry)), "no reply; daemon log:\n\(daemon.log)")
        #expect(reply.envelope.status.code == badCase.code, "message: \(reply.envelope.status.message)")
        if !badCase.phrase.isEmpty {
            #expect(reply.envelope.status.message.contains(badCase.phrase), "message: \(reply.envelope.status.message)")
        }
        #expect((reply.envelope.result == nil) == (badCase.code != .ok))

        #expect(try probe.stillServes())
        #expect(try await ReliabilityStoreDigest.take(client) == before)
        #expect(daemon.process.isRunning)
    }

    @Test("two requests with one id are both answered, each echoing the id")
    func duplicateRequestIDs() throws {
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(Self.model.path)"])
        let probe = try WireProbe(endpoint: daemon.endpoint)
        try probe.socket.send([ZMQFrame(bytes: try ReliabilityFrames.envelope(.listSequences(Loma_V1_ListSequencesRequest()), id: 55))])
        try probe.socket.send([ZMQFrame(bytes: try ReliabilityFrames.envelope(.stats(Loma_V1_StatsRequest()), id: 55))])
        let first = try #require(try probe.receive(timeout: .seconds(10)))
        let second = try #require(try probe.receive(timeout: .seconds(10)))
        #expect([first, second].allSatisfy { $0.envelope.requestID == 55 && $0.envelope.status.code == .ok })
        let kinds = Set([first, second].compactMap { reply -> String? in
            switch reply.envelope.result {
            case .listSequences?: "list"
            case .stats?: "stats"
            default: nil
            }
        })
        #expect(kinds == ["list", "stats"])
        #expect(try probe.stillServes())
    }
}
