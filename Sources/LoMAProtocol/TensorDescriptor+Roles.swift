/// Every tensor descriptor a message carries, named by where it sits in the message, so that one
/// validator serves every operation and its errors can say which tensor is wrong
/// ("compress.segment.keys").
public protocol TensorCarrying {
    var tensorDescriptors: [(role: String, descriptor: Loma_V1_TensorDescriptor)] { get }
    /// How many of the message's tensors lie in shared memory instead of frames (then all do, and
    /// the message is the envelope alone); 0 for a message that carries its tensors as frames.
    var sharedMemoryTensorCount: Int { get }
}

extension Loma_V1_KVPair {
    func descriptors(role: String) -> [(role: String, descriptor: Loma_V1_TensorDescriptor)] {
        var result: [(role: String, descriptor: Loma_V1_TensorDescriptor)] = []
        if hasKeys { result.append(("\(role).keys", keys)) }
        if hasValues { result.append(("\(role).values", values)) }
        return result
    }
}

extension Loma_V1_Request: TensorCarrying {
    public var tensorDescriptors: [(role: String, descriptor: Loma_V1_TensorDescriptor)] {
        switch operation {
        case .compress(let compress):
            var result: [(role: String, descriptor: Loma_V1_TensorDescriptor)] = []
            if compress.hasSegment { result += compress.segment.descriptors(role: "compress.segment") }
            if compress.hasContext { result += compress.context.descriptors(role: "compress.context") }
            return result
        case .publishPrefix(let publish):
            return publish.hasMemory ? publish.memory.descriptors(role: "publish_prefix.memory") : []
        case .health, .stats, .readMemory, .forkSequence, .deleteSequence, .listSequences, .lookupPrefix, nil:
            return []
        }
    }
}

extension Loma_V1_Request {
    public var sharedMemoryTensorCount: Int { sharedMemory.inputFrames.count }
}

extension Loma_V1_Reply {
    public var sharedMemoryTensorCount: Int { sharedMemory.frames.count }
}

extension Loma_V1_Reply: TensorCarrying {
    public var tensorDescriptors: [(role: String, descriptor: Loma_V1_TensorDescriptor)] {
        switch result {
        case .compress(let reply):
            return reply.hasMemory ? reply.memory.descriptors(role: "compress.memory") : []
        case .readMemory(let reply):
            return reply.hasMemory ? reply.memory.descriptors(role: "read_memory.memory") : []
        case .lookupPrefix(let reply):
            return reply.hasMemory ? reply.memory.descriptors(role: "lookup_prefix.memory") : []
        case .health, .stats, .forkSequence, .deleteSequence, .listSequences, .publishPrefix, nil:
            return []
        }
    }
}
