import Foundation
import LoMAProtocol
import ZeroMQ

/// The client's same-host path: on an ipc endpoint whose daemon takes shared memory (its health
/// reply says `limits.shared_memory_max_bytes` > 0), a request's tensors are written into an
/// input segment the client owns and the daemon writes the reply's tensors into a reply segment
/// the client owns, so neither crosses the socket. Everything else (tcp, a daemon without it, a
/// request larger than the daemon's limit) goes as frames. Confined to the client's serial queue,
/// like `ClientConnection`, which makes the unchecked Sendable sound.
final class SharedMemoryChannel: @unchecked Sendable {
    private enum State {
        /// Not asked yet: the next request with tensors first asks the daemon's health.
        case unknown
        case off
        case on(limit: Int)
    }

    private var state: State
    private var input: OwnedSharedMemorySegment?
    private var reply: OwnedSharedMemorySegment?
    /// What the next reply segment offers; grows to what a reply that did not fit needed.
    private var replyCapacity = 4 << 20

    init(enabled: Bool) {
        state = enabled ? .unknown : .off
    }

    var needsNegotiation: Bool {
        if case .unknown = state { return true }
        return false
    }

    /// Takes the daemon's limit from its health reply (0: it takes no shared memory).
    func negotiated(limit: UInt64) {
        state = limit > 0 ? .on(limit: Int(clamping: limit)) : .off
    }

    /// Stops using shared memory (the daemon refused it, e.g. after a reload set the limit to 0).
    func turnOff() {
        state = .off
        input = nil
        reply = nil
    }

    var segmentNames: [String] {
        [input, reply].compactMap { $0?.name }
    }

    var isOn: Bool {
        if case .on = state { return true }
        return false
    }

    /// Writes `tensors` into the input segment and names it and the reply segment in `request`.
    /// Returns false (and changes nothing) when the request should go as frames instead.
    func prepare(_ request: inout Loma_V1_Request, tensors: [TensorPayload]) throws -> Bool {
        guard case .on(let limit) = state, request.operation?.carriesTensors == true else { return false }
        var shared = Loma_V1_SharedMemoryRequest()
        if !tensors.isEmpty {
            var spans: [Loma_V1_SharedMemorySpan] = []
            var offset = 0
            for tensor in tensors {
                var span = Loma_V1_SharedMemorySpan()
                span.offset = UInt64(offset)
                span.length = UInt64(tensor.bytes.count)
                spans.append(span)
                offset = Self.aligned(offset + tensor.bytes.count)
            }
            let total = tensors.reduce(0) { $0 + $1.bytes.count }
            guard total <= limit else { return false }
            let segment = try input ?? OwnedSharedMemorySegment(role: "in", capacity: offset)
            input = segment
            try segment.reserve(offset)
            for (tensor, span) in zip(tensors, spans) {
                guard let target = segment.bytes(offset: Int(span.offset), length: Int(span.length)) else { return false }
                tensor.bytes.withUnsafeBytes { target.copyMemory(from: $0) }
            }
            shared.inputSegment = segment.name
            shared.inputFrames = spans
        }
        let capacity = min(replyCapacity, limit)
        let replySegment = try reply ?? OwnedSharedMemorySegment(role: "out", capacity: capacity)
        reply = replySegment
        try replySegment.reserve(capacity)
        shared.replySegment = replySegment.name
        shared.replyCapacity = UInt64(capacity)
        request.sharedMemory = shared
        return true
    }

    /// The reply's tensors, read out of the reply segment when the daemon put them there and out
    /// of its frames otherwise, checked against their descriptors either way.
    func tensors(of decoded: DecodedMessage<Loma_V1_Reply>) throws -> [Int: TensorFrame] {
        let placed = decoded.envelope.sharedMemory
        if placed.replyBytesNeeded > 0 { replyCapacity = max(replyCapacity, Int(clamping: placed.replyBytesNeeded)) }
        guard decoded.awaitsSharedMemory else { return decoded.tensors }
        guard let reply else { throw LoMAClientError.malformedReply("the reply names shared memory this client did not offer") }
        let frames = try placed.frames.enumerated().map { index, span in
            guard span.offset <= UInt64(Int.max), span.length <= UInt64(Int.max),
                  let bytes = reply.bytes(offset: Int(span.offset), length: Int(span.length)) else {
                throw LoMAClientError.malformedReply("shared_memory.frames[\(index)] lies outside the \(reply.capacity)-byte reply segment")
            }
            // Valid until the next request reuses the segment; callers copy the bytes out first.
            return try ZMQFrame(noCopy: UnsafeRawBufferPointer(bytes), release: {})
        }
        return try decoded.resolvingSharedMemory(frames).tensors
    }

    private static func aligned(_ offset: Int) -> Int {
        (offset + 63) / 64 * 64
    }
}

extension Loma_V1_Request.OneOf_Operation {
    /// Whether the request or its reply carries tensors: what makes the client learn, once,
    /// whether the daemon takes shared memory.
    var carriesTensors: Bool {
        switch self {
        case .compress, .readMemory, .publishPrefix, .lookupPrefix: true
        case .health, .stats, .forkSequence, .deleteSequence, .listSequences: false
        }
    }
}
