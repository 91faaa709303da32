import LoMAProtocol
import ZeroMQ

/// A worker's side of a request that names shared memory: before the handler runs, the input
/// tensors are copied out of the client's input segment and checked like frames, and the reply
/// segment is opened and checked, so a bad segment fails the request before it changes anything;
/// after it, the reply's tensors are written into the reply segment instead of frames.
struct SharedMemoryTransfer {
    /// Reply tensors start at multiples of this, so clients can read them in place as any dtype.
    static let alignment = 64

    /// The request with its tensors read; nil reply segment when the request named none.
    let message: DecodedMessage<Loma_V1_Request>
    private let reply: SharedMemorySegment?
    private let replyCapacity: Int

    /// Reads what `request` names. The broker checked names and sizes (`SharedMemoryAdmission`).
    /// - Throws: `StatusError` naming the segment or span at fault.
    init(_ request: HandedOffRequest) throws {
        let shared = request.message.envelope.sharedMemory
        guard let uid = request.peerUID else {
            throw StatusError.failedPrecondition("shared memory is accepted only on ipc:// connections")
        }
        var message = request.message
        if request.message.awaitsSharedMemory {
            let ranges = try shared.inputFrames.enumerated().map { index, span in
                try SharedMemoryRange(span, role: "shared_memory.input_frames[\(index)]")
            }
            let segment = try SharedMemorySegment(name: shared.inputSegment, role: "shared_memory.input_segment",
                                                  writable: false, ownerUID: uid, required: ranges.map(\.end).max() ?? 0)
            let frames = try ranges.enumerated().map { index, range in try segment.read(range, frame: index + 1) }
            message = try message.resolvingSharedMemory(frames)
        }
        self.message = message
        replyCapacity = Int(clamping: shared.replyCapacity)
        reply = shared.replySegment.isEmpty ? nil
            : try SharedMemorySegment(name: shared.replySegment, role: "shared_memory.reply_segment",
                                      writable: true, ownerUID: uid, required: replyCapacity)
    }

    /// Puts `tensors` (a reply's frames 1...) in the reply segment and says where; nil when the
    /// request named no reply segment. When they do not fit, nothing is written and the result
    /// says how many bytes would have been needed: the tensors then travel as frames.
    func place(_ tensors: [ZMQFrame]) throws -> Loma_V1_SharedMemoryReply? {
        guard let reply else { return nil }
        var spans: [Loma_V1_SharedMemorySpan] = []
        var offset = 0
        for frame in tensors {
            var span = Loma_V1_SharedMemorySpan()
            span.offset = UInt64(offset)
            span.length = UInt64(frame.count)
            spans.append(span)
            offset = Self.aligned(offset + frame.count)
        }
        let needed = spans.last.map { Int($0.offset + $0.length) } ?? 0
        var result = Loma_V1_SharedMemoryReply()
        guard needed <= replyCapacity else {
            result.replyBytesNeeded = UInt64(needed)
            return result
        }
        for (frame, span) in zip(tensors, spans) {
            try reply.write(frame, at: Int(span.offset))
        }
        result.frames = spans
        return result
    }

    static func aligned(_ offset: Int) -> Int {
        (offset + alignment - 1) / alignment * alignment
    }
}
