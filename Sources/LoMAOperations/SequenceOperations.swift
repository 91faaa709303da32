import LoMAProtocol
import LoMAStore

/// Reading, forking, deleting and listing a tenant's sequences.
struct SequenceOperations {
    let store: MemoryStore
    let tenant: String

    func readMemory(_ request: Loma_V1_ReadMemoryRequest, into message: inout OutgoingMessage) throws -> Loma_V1_Reply.OneOf_Result {
        let format = try KVOutputFormat(dtype: request.outputDtype, layout: request.outputLayout, operation: "read_memory",
                                        fallback: KVOutputFormat.storedDefault)
        let info = try storeCall { () throws(StoreError) in try store.sequenceInfo(tenant: tenant, sequence: request.sequence) }
        let first = Int(request.firstSegment)
        guard first <= info.segmentCount else {
            throw StatusError.invalidArgument(
                "read_memory.first_segment \(first) is past the \(info.segmentCount) segments of sequence '\(request.sequence)'")
        }
        let count = request.segmentCount == 0 ? info.segmentCount - first : Int(request.segmentCount)
        guard first + count <= info.segmentCount else {
            throw StatusError.invalidArgument(
                "read_memory asks for segments \(first)..<\(first + count), but sequence '\(request.sequence)' has \(info.segmentCount)")
        }
        let segments = try storeCall { () throws(StoreError) in
            try store.read(tenant: tenant, sequence: request.sequence, segments: first..<(first + count))
        }
        var reply = Loma_V1_ReadMemoryReply()
        if let attached = try MemoryBlocks.attach(segments, format: format, to: &message) {
            reply.memory = attached.memory
            reply.positions = attached.positions
        }
        reply.segments = UInt32(clamping: segments.count)
        reply.sequence = info.wire
        return .readMemory(reply)
    }

    func fork(_ request: Loma_V1_ForkSequenceRequest) throws -> Loma_V1_Reply.OneOf_Result {
        let info = try storeCall { () throws(StoreError) in
            try store.fork(tenant: tenant, source: request.source, destination: request.destination)
        }
        var reply = Loma_V1_ForkSequenceReply()
        reply.sequence = info.wire
        return .forkSequence(reply)
    }

    func delete(_ request: Loma_V1_DeleteSequenceRequest) throws -> Loma_V1_Reply.OneOf_Result {
        try storeCall { () throws(StoreError) in try store.delete(tenant: tenant, sequence: request.sequence) }
        return .deleteSequence(Loma_V1_DeleteSequenceReply())
    }

    func list(_ request: Loma_V1_ListSequencesRequest) throws -> Loma_V1_Reply.OneOf_Result {
        let sequences = try storeCall { () throws(StoreError) in try store.list(tenant: tenant, namePrefix: request.namePrefix) }
        var reply = Loma_V1_ListSequencesReply()
        reply.sequences = sequences.map(\.wire)
        return .listSequences(reply)
    }
}
