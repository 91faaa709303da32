import Foundation
import LoMAProtocol

extension LoMAClient {
    /// A sequence's stored memory, all of it or the segments `firstSegment ..< firstSegment + segmentCount`
    /// (`segmentCount` 0: to the end). Returns nil memory for an empty range.
    public func readMemory(sequence: String, firstSegment: Int = 0, segmentCount: Int = 0,
                           outputDType: Loma_V1_DType = .unspecified, outputLayout: Loma_V1_KVLayout = .unspecified)
        async throws -> (memory: CompressedMemory?, sequence: Loma_V1_SequenceInfo) {
        var request = Loma_V1_ReadMemoryRequest()
        request.sequence = sequence
        request.firstSegment = UInt32(clamping: firstSegment)
        request.segmentCount = UInt32(clamping: segmentCount)
        request.outputDtype = outputDType
        request.outputLayout = outputLayout
        let reply = try await send(.readMemory(request))
        guard case .readMemory(let result)? = reply.envelope.result else {
            throw LoMAClientError.malformedReply("read_memory reply without a read_memory result")
        }
        return (try memory(result.hasMemory ? result.memory : nil, positions: result.positions,
                           segments: Int(result.segments), in: reply), result.sequence)
    }

    @discardableResult
    public func forkSequence(source: String, destination: String) async throws -> Loma_V1_SequenceInfo {
        var request = Loma_V1_ForkSequenceRequest()
        request.source = source
        request.destination = destination
        // A repeated fork fails (destination exists) instead of forking twice, so retrying is safe.
        let reply = try await send(.forkSequence(request))
        guard case .forkSequence(let result)? = reply.envelope.result else {
            throw LoMAClientError.malformedReply("fork_sequence reply without a fork_sequence result")
        }
        return result.sequence
    }

    public func deleteSequence(_ sequence: String) async throws {
        var request = Loma_V1_DeleteSequenceRequest()
        request.sequence = sequence
        _ = try await send(.deleteSequence(request))
    }

    public func listSequences(namePrefix: String = "") async throws -> [Loma_V1_SequenceInfo] {
        var request = Loma_V1_ListSequencesRequest()
        request.namePrefix = namePrefix
        let reply = try await send(.listSequences(request))
        guard case .listSequences(let result)? = reply.envelope.result else {
            throw LoMAClientError.malformedReply("list_sequences reply without a list_sequences result")
        }
        return result.sequences
    }

    /// Publishes memory (one segment's memory per chunk, in order) under chained chunk hashes.
    /// Returns how many chunks were new to the store.
    @discardableResult
    public func publishPrefix(model: String = "", chunkHashes: [[UInt8]], keys: TensorPayload, values: TensorPayload,
                              positions: [Int64] = []) async throws -> Int {
        var request = Loma_V1_PublishPrefixRequest()
        request.model = model
        request.chunkHashes = chunkHashes.map { Data($0) }
        request.memory.keys = Self.descriptor(for: keys, frame: 1)
        request.memory.values = Self.descriptor(for: values, frame: 2)
        request.positions = positions
        let reply = try await send(.publishPrefix(request), tensors: [keys, values])
        guard case .publishPrefix(let result)? = reply.envelope.result else {
            throw LoMAClientError.malformedReply("publish_prefix reply without a publish_prefix result")
        }
        return Int(result.storedChunks)
    }

    /// The memory of the longest stored prefix of `chunkHashes` (nil memory when none matched).
    public func lookupPrefix(model: String = "", chunkHashes: [[UInt8]], outputDType: Loma_V1_DType = .unspecified,
                             outputLayout: Loma_V1_KVLayout = .unspecified) async throws -> (matchedChunks: Int, memory: CompressedMemory?) {
        var request = Loma_V1_LookupPrefixRequest()
        request.model = model
        request.chunkHashes = chunkHashes.map { Data($0) }
        request.outputDtype = outputDType
        request.outputLayout = outputLayout
        let reply = try await send(.lookupPrefix(request))
        guard case .lookupPrefix(let result)? = reply.envelope.result else {
            throw LoMAClientError.malformedReply("lookup_prefix reply without a lookup_prefix result")
        }
        let matched = Int(result.matchedChunks)
        return (matched, try memory(result.hasMemory ? result.memory : nil, positions: result.positions, segments: matched, in: reply))
    }

    /// The memory a reply's descriptors name, or nil when it has none.
    func memory(_ pair: Loma_V1_KVPair?, positions: [Int64], segments: Int, in reply: ClientReply) throws -> CompressedMemory? {
        guard let pair else { return nil }
        guard let keys = reply.tensor(pair.keys), let values = reply.tensor(pair.values) else {
            throw LoMAClientError.malformedReply("memory descriptors name frames the reply does not carry")
        }
        return CompressedMemory(keys: keys, values: values, positions: positions, segments: segments)
    }
}
