import LoMAProtocol

/// What the broker checks, on arrival, of a request that names shared memory, so that a request
/// the worker could never serve is refused at once and costs no queue slot: the daemon takes
/// shared memory at all, the connection is ipc (only there does the kernel say whose segments
/// the client may name, and only there are they on this host), the names are lomad names, and
/// the bytes named stay within `limits.shared_memory_max_bytes`. The segments themselves are
/// opened later, off the broker thread (`SharedMemoryTransfer`).
enum SharedMemoryAdmission {
    /// The input bytes the worker will copy out of shared memory, which count against
    /// `limits.max_queued_bytes` as frames would; 0 for a request that names no shared memory.
    /// - Throws: `StatusError` saying why the request cannot use shared memory.
    static func inputBytes(of request: Loma_V1_Request, peerUID: UInt32?, limit: Int) throws -> Int {
        guard request.hasSharedMemory else { return 0 }
        let shared = request.sharedMemory
        guard limit > 0 else {
            throw StatusError.failedPrecondition(
                "this lomad takes no shared memory (limits.shared_memory_max_bytes is 0); send the tensors as frames")
        }
        guard peerUID != nil else {
            throw StatusError.failedPrecondition(
                "shared memory is accepted only on ipc:// connections, whose peer uid the kernel reports; send the tensors as frames")
        }
        var total = 0
        if !shared.inputFrames.isEmpty {
            try SharedMemoryName.validate(shared.inputSegment, role: "shared_memory.input_segment")
            for (index, span) in shared.inputFrames.enumerated() {
                let range = try SharedMemoryRange(span, role: "shared_memory.input_frames[\(index)]")
                let (sum, overflow) = total.addingReportingOverflow(range.length)
                guard !overflow else {
                    throw StatusError.invalidArgument("shared_memory.input_frames add up to more than 64 bits of bytes")
                }
                total = sum
            }
            guard total <= limit else {
                throw StatusError.resourceExhausted(
                    "shared_memory.input_frames name \(total) bytes; limits.shared_memory_max_bytes allows \(limit) per request")
            }
        } else if !shared.inputSegment.isEmpty {
            throw StatusError.invalidArgument("shared_memory.input_segment is named but shared_memory.input_frames is empty")
        }
        if !shared.replySegment.isEmpty {
            try SharedMemoryName.validate(shared.replySegment, role: "shared_memory.reply_segment")
            guard shared.replyCapacity > 0 else {
                throw StatusError.invalidArgument("shared_memory.reply_segment is named with reply_capacity 0")
            }
            guard shared.replyCapacity <= UInt64(limit) else {
                throw StatusError.resourceExhausted(
                    "shared_memory.reply_capacity is \(shared.replyCapacity) bytes; limits.shared_memory_max_bytes allows \(limit)")
            }
        } else if shared.replyCapacity > 0 {
            throw StatusError.invalidArgument("shared_memory.reply_capacity is set but shared_memory.reply_segment is empty")
        }
        return total
    }
}
