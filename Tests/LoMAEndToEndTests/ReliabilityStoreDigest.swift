import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport

/// What a client can see of the store: every sequence's info and the hash of its memory as
/// read_memory returns it (f32, heads-major). Two digests are equal when nothing a client can
/// read has changed in between.
struct ReliabilityStoreDigest: Equatable, CustomStringConvertible {
    let sequences: [Loma_V1_SequenceInfo]
    let memory: ReliabilityContentHash

    static func take(_ client: LoMAClient) async throws -> ReliabilityStoreDigest {
        let sequences = try await client.listSequences()
        var hash = ReliabilityContentHash()
        for sequence in sequences {
            hash.combine(sequence.name)
            let (memory, _) = try await client.readMemory(sequence: sequence.name, outputDType: .f32, outputLayout: .headsMajor)
            guard let memory else { continue }
            hash.combine(memory.keys.bytes)
            hash.combine(memory.values.bytes)
            memory.positions.forEach { hash.combine($0) }
        }
        return ReliabilityStoreDigest(sequences: sequences, memory: hash)
    }

    var description: String { "\(sequences.map { "\($0.name):\($0.segments)" }) memory \(memory)" }
}

/// The shape of a served model's KV, from its health entry, and segments of deterministic KV.
struct ReliabilityModelGeometry: Sendable {
    let layers: Int
    let kvHeads: Int
    let headDim: Int
    let segmentLength: Int
    let memoryTokensPerSegment: Int

    init(_ info: Loma_V1_ModelInfo) {
        layers = Int(info.layers)
        kvHeads = Int(info.kvHeads)
        headDim = Int(info.headDim)
        segmentLength = Int(info.segmentLength)
        memoryTokensPerSegment = Int(info.memoryTokensPerSegment)
    }

    static func of(_ client: LoMAClient) async throws -> ReliabilityModelGeometry {
        guard let model = try await client.health().models.first else {
            throw LoMAClientError.malformedReply("health lists no model")
        }
        return ReliabilityModelGeometry(model)
    }

    /// Heads-major f32 keys or values of `tokens` tokens.
    func payload(tokens: Int, seed: UInt64) -> TensorPayload {
        TensorPayload(bytes: ReliabilityPayload.float32Bytes(count: layers * kvHeads * tokens * headDim, seed: seed),
                      dtype: .f32, shape: [layers, kvHeads, tokens, headDim])
    }

    /// Keys and values of `segments` whole segments.
    func segment(segments: Int = 1, seed: UInt64) -> (keys: TensorPayload, values: TensorPayload) {
        (payload(tokens: segments * segmentLength, seed: seed), payload(tokens: segments * segmentLength, seed: ~seed))
    }
}

/// Raw request frames, for requests no well-behaved client would send.
enum ReliabilityFrames {
    static func envelope(_ operation: Loma_V1_Request.OneOf_Operation, id: UInt64 = 7) throws -> [UInt8] {
        var request = Loma_V1_Request()
        request.requestID = id
        request.operation = operation
        return try request.serializedBytes()
    }

    /// A compress of `keys` and `values` (frames 1 and 2) by model "m", changed by `configure`.
    static func compress(keys: TensorPayload, values: TensorPayload, id: UInt64 = 7,
                         _ configure: (inout Loma_V1_CompressRequest) -> Void = { _ in }) throws -> [[UInt8]] {
        var request = Loma_V1_CompressRequest()
        request.model = "m"
        request.segment.keys = LoMAClient.descriptor(for: keys, frame: 1)
        request.segment.values = LoMAClient.descriptor(for: values, frame: 2)
        configure(&request)
        return [try envelope(.compress(request), id: id), [UInt8](keys.bytes), [UInt8](values.bytes)]
    }
}
