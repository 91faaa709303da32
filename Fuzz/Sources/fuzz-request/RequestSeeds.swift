import Foundation
import FuzzSupport
import LoMAModel
import LoMAProtocol
@testable import LoMAOperations
import ZeroMQ

/// Valid messages of every operation, built with the generated protobuf types so the corpus
/// follows the schema as it changes (rewrite with `Fuzz/run.sh seeds`). Tensor shapes fit the
/// fixture model the target serves: 2 layers, 2 KV heads, head_dim 8, segments of 8 tokens
/// compressed to 4 memory tokens.
enum RequestSeeds {
    static let layers = 2, kvHeads = 2, headDim = 8, segmentLength = 8, memoryTokens = 4

    static func all() throws -> [String: [UInt8]] {
        var seeds: [String: [UInt8]] = [:]
        seeds["health"] = try encode([request(.health(Loma_V1_HealthRequest()))])
        seeds["stats"] = try encode([request(.stats(Loma_V1_StatsRequest()))])
        seeds["compress-f32"] = try encode([compress(dtype: .f32, layout: .headsMajor)])
        seeds["compress-bf16-context-mean-pool"] = try encode([
            compress(dtype: .bf16, layout: .tokensMajor, contextTokens: segmentLength, method: .meanPool,
                     output: (.f16, .tokensMajor), checkFinite: true),
        ])
        seeds["compress-f16-strided"] = try encode([compress(dtype: .f16, layout: .headsMajor, method: .strided)])
        seeds["compress-non-finite"] = try encode([compress(dtype: .f32, layout: .headsMajor, checkFinite: true, poison: true)])
        seeds["compress-batch"] = try encode([
            compress(dtype: .f32, layout: .headsMajor),
            compress(dtype: .bf16, layout: .headsMajor, sequence: "b"),
        ])
        seeds["sequence-session"] = try encode([
            compress(dtype: .f32, layout: .headsMajor, sequence: "s"),
            // Not batched with the first (batched, the second would find the sequence changed).
            request(.listSequences(Loma_V1_ListSequencesRequest())),
            compress(dtype: .f32, layout: .headsMajor, sequence: "s", position: 8),
            readMemory("s", output: (.bf16, .tokensMajor)),
            request(.forkSequence(.with { $0.source = "s"; $0.destination = "t" })),
            request(.listSequences(.with { $0.namePrefix = "" })),
            readMemory("t", firstSegment: 1, segmentCount: 1),
            request(.deleteSequence(.with { $0.sequence = "t" })),
        ])
        seeds["missing-sequence"] = try encode([
            readMemory("absent"),
            request(.deleteSequence(.with { $0.sequence = "absent" })),
            request(.listSequences(Loma_V1_ListSequencesRequest())),
        ])
        seeds["prefix-session"] = try encode([publishPrefix(), lookupPrefix()])
        return seeds
    }

    typealias Message = (envelope: Loma_V1_Request, tensors: OutgoingMessage)

    static func request(_ operation: Loma_V1_Request.OneOf_Operation, tensors: OutgoingMessage = OutgoingMessage()) -> Message {
        var envelope = Loma_V1_Request()
        envelope.requestID = 1
        envelope.operation = operation
        return (envelope, tensors)
    }

    static func compress(dtype: DType, layout: KVLayout, contextTokens: Int = 0, method: Loma_V1_CompressionMethod = .loma,
                         output: (Loma_V1_DType, Loma_V1_KVLayout)? = nil, checkFinite: Bool = false, poison: Bool = false,
                         sequence: String = "", position: UInt64? = nil) -> Message {
        var tensors = OutgoingMessage()
        var compress = Loma_V1_CompressRequest()
        compress.model = RequestTarget.modelName
        compress.segment = kvPair(tokens: segmentLength, dtype: dtype, layout: layout, poison: poison, into: &tensors)
        if contextTokens > 0 {
            compress.context = kvPair(tokens: contextTokens, dtype: dtype, layout: layout, into: &tensors)
        }
        compress.method = method
        if let output {
            (compress.outputDtype, compress.outputLayout) = output
        }
        compress.checkFinite = checkFinite
        compress.sequence = sequence
        if let position { compress.position = position }
        return request(.compress(compress), tensors: tensors)
    }

    static func readMemory(_ sequence: String, firstSegment: UInt32 = 0, segmentCount: UInt32 = 0,
                           output: (Loma_V1_DType, Loma_V1_KVLayout) = (.unspecified, .unspecified)) -> Message {
        request(.readMemory(.with {
            $0.sequence = sequence
            $0.firstSegment = firstSegment
            $0.segmentCount = segmentCount
            ($0.outputDtype, $0.outputLayout) = output
        }))
    }

    static let chunkHash: [UInt8] = Array(0..<32)

    static func publishPrefix() -> Message {
        var tensors = OutgoingMessage()
        var publish = Loma_V1_PublishPrefixRequest()
        publish.model = RequestTarget.modelName
        publish.chunkHashes = [Data(chunkHash)]
        publish.memory = kvPair(tokens: memoryTokens, dtype: .f32, layout: .headsMajor, into: &tensors)
        return request(.publishPrefix(publish), tensors: tensors)
    }

    static func lookupPrefix() -> Message {
        request(.lookupPrefix(.with {
            $0.model = RequestTarget.modelName
            $0.chunkHashes = [Data(chunkHash), Data(chunkHash.reversed())]
            $0.outputDtype = .f16
        }))
    }

    /// Keys and values of `tokens` tokens with small deterministic values (or a NaN when
    /// `poison`), attached to `tensors` in `dtype` and `layout`.
    static func kvPair(tokens: Int, dtype: DType, layout: KVLayout, poison: Bool = false,
                       into tensors: inout OutgoingMessage) -> Loma_V1_KVPair {
        let count = layers * kvHeads * tokens * headDim
        func tensor(_ salt: Int) -> Loma_V1_TensorDescriptor {
            var values = (0..<count).map { Float(($0 * 37 + salt * 11) % 97) / 97 - 0.5 }
            if poison { values[count / 2] = .nan }
            var bytes = [UInt8](repeating: 0, count: count * dtype.byteSize)
            values.withUnsafeBufferPointer { source in
                bytes.withUnsafeMutableBytes { destination in
                    if let from = source.baseAddress, let to = destination.baseAddress {
                        DTypeConversion.fromFloat32(from, count: count, to: dtype, into: to)
                    }
                }
            }
            return tensors.attach(ZMQFrame(bytes: bytes), dtype: Loma_V1_DType(dtype),
                                  shape: layout.shape(layers: layers, kvHeads: kvHeads, tokens: tokens, headDim: headDim),
                                  layout: Loma_V1_KVLayout(layout))
        }
        var pair = Loma_V1_KVPair()
        pair.keys = tensor(1)
        pair.values = tensor(2)
        return pair
    }

    static func encode(_ messages: [Message]) throws -> [UInt8] {
        try FuzzFraming.encode(messages.map { message in
            try message.tensors.frames(envelope: message.envelope).map(\.bytes)
        })
    }
}
