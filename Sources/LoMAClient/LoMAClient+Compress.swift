import LoMAProtocol

/// Memory-token KV the daemon returned, with where each memory token sits.
public struct CompressedMemory: Sendable {
    public var keys: ReceivedTensor
    public var values: ReceivedTensor
    public var positions: [Int64]
    public var segments: Int
}

/// Options of a compress request beyond its KV.
public struct CompressOptions: Sendable {
    public var model: String = ""
    public var sequence: String = ""
    /// Absolute position of the first segment token; nil: 0, or where the sequence ended.
    public var position: UInt64?
    public var outputDType: Loma_V1_DType = .unspecified
    public var outputLayout: Loma_V1_KVLayout = .unspecified
    public var method: Loma_V1_CompressionMethod = .loma
    public var checkFinite = false
    /// With `sequence`: seconds until the sequence expires (0 keeps its expiry).
    public var ttlSeconds: UInt32 = 0

    public init(model: String = "", sequence: String = "", position: UInt64? = nil,
                outputDType: Loma_V1_DType = .unspecified, outputLayout: Loma_V1_KVLayout = .unspecified,
                method: Loma_V1_CompressionMethod = .loma, checkFinite: Bool = false, ttlSeconds: UInt32 = 0) {
        self.model = model
        self.sequence = sequence
        self.position = position
        self.outputDType = outputDType
        self.outputLayout = outputLayout
        self.method = method
        self.checkFinite = checkFinite
        self.ttlSeconds = ttlSeconds
    }
}

extension LoMAClient {
    /// Compresses whole segments of KV into memory-token KV.
    /// - Parameter context: KV the segment attends to before itself (keys, values), if any.
    public func compress(keys: TensorPayload, values: TensorPayload, context: (keys: TensorPayload, values: TensorPayload)? = nil,
                         options: CompressOptions = CompressOptions()) async throws -> CompressedMemory {
        var request = Loma_V1_CompressRequest()
        request.model = options.model
        request.sequence = options.sequence
        if let position = options.position { request.position = position }
        request.outputDtype = options.outputDType
        request.outputLayout = options.outputLayout
        request.method = options.method
        request.checkFinite = options.checkFinite
        request.ttlSeconds = options.ttlSeconds
        var tensors = [keys, values]
        request.segment.keys = Self.descriptor(for: keys, frame: 1)
        request.segment.values = Self.descriptor(for: values, frame: 2)
        if let context {
            request.context.keys = Self.descriptor(for: context.keys, frame: 3)
            request.context.values = Self.descriptor(for: context.values, frame: 4)
            tensors += [context.keys, context.values]
        }
        // Appending to a sequence twice would store the memory twice: never resend those.
        let reply = try await send(.compress(request), tensors: tensors, idempotent: options.sequence.isEmpty)
        guard case .compress(let result)? = reply.envelope.result,
              let memory = try memory(result.memory, positions: result.positions, segments: Int(result.segments), in: reply) else {
            throw LoMAClientError.malformedReply("compress reply without memory keys and values")
        }
        return memory
    }
}
