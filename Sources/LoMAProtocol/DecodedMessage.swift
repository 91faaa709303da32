import SwiftProtobuf
import ZeroMQ

/// A loma.v1 message taken apart and checked: frame 0 parsed as the envelope, every tensor
/// descriptor matched to the frame it names. Both sides use it: the daemon for requests, clients
/// for replies, so a peer's bad descriptor is caught the same way in either direction.
public struct DecodedMessage<Envelope: SwiftProtobuf.Message & TensorCarrying> {
    public let envelope: Envelope
    /// Validated tensors by frame index.
    public let tensors: [Int: TensorFrame]
    /// The tensors lie in shared memory (`TensorCarrying.sharedMemoryTensorCount`) and are not
    /// read yet: `tensors` is empty until `resolvingSharedMemory` matches them to descriptors.
    public let awaitsSharedMemory: Bool

    /// The envelope is small by design; a larger frame 0 is refused before protobuf parses it.
    public static var maxEnvelopeBytes: Int { 1 << 20 }

    /// Decodes the application frames of a message (routing frames already removed).
    /// - Throws: `StatusError` naming the frame or tensor that is wrong.
    public init(frames: [ZMQFrame], limits: ProtocolLimits) throws {
        guard let head = frames.first else {
            throw StatusError.invalidArgument("empty message: expected a \(Envelope.protoMessageName) envelope in frame 0")
        }
        guard frames.count <= limits.maxFrames else {
            throw StatusError.resourceExhausted("message has \(frames.count) frames; at most \(limits.maxFrames) are accepted")
        }
        for (index, frame) in frames.enumerated() where frame.count > limits.maxFrameBytes {
            throw StatusError.resourceExhausted(
                "frame \(index) is \(frame.count) bytes; frames of at most \(limits.maxFrameBytes) bytes are accepted")
        }
        guard head.count <= Self.maxEnvelopeBytes else {
            throw StatusError.invalidArgument(
                "frame 0 is \(head.count) bytes; a \(Envelope.protoMessageName) envelope is at most \(Self.maxEnvelopeBytes) bytes")
        }
        let envelope: Envelope
        do {
            envelope = try Envelope(serializedBytes: head.bytes)
        } catch {
            throw StatusError.invalidArgument("frame 0 is not a valid \(Envelope.protoMessageName) envelope: \(error)")
        }
        self.envelope = envelope
        let shared = envelope.sharedMemoryTensorCount
        guard shared > 0 else {
            self.tensors = try Self.validateTensors(of: envelope, frames: frames)
            self.awaitsSharedMemory = false
            return
        }
        guard frames.count == 1 else {
            throw StatusError.invalidArgument(
                "the \(Envelope.protoMessageName) names \(shared) tensors in shared memory but also carries \(frames.count - 1) tensor frames; send one or the other")
        }
        guard shared < limits.maxFrames else {
            throw StatusError.resourceExhausted(
                "the \(Envelope.protoMessageName) names \(shared) tensors in shared memory; at most \(limits.maxFrames - 1) are accepted")
        }
        self.tensors = [:]
        self.awaitsSharedMemory = true
    }

    private init(envelope: Envelope, tensors: [Int: TensorFrame]) {
        self.envelope = envelope
        self.tensors = tensors
        self.awaitsSharedMemory = false
    }

    /// This message with the tensors that lay in shared memory, now copied out of it into
    /// `tensorFrames` (frame i + 1 is `tensorFrames[i]`), checked against their descriptors
    /// exactly as frames that travelled over the socket are.
    public func resolvingSharedMemory(_ tensorFrames: [ZMQFrame]) throws -> DecodedMessage {
        DecodedMessage(envelope: envelope,
                       tensors: try Self.validateTensors(of: envelope, frames: [ZMQFrame()] + tensorFrames))
    }

    /// The tensor a descriptor of this message names.
    public func tensor(_ descriptor: Loma_V1_TensorDescriptor) -> TensorFrame? {
        tensors[Int(descriptor.frame)]
    }

    private static func validateTensors(of envelope: Envelope, frames: [ZMQFrame]) throws -> [Int: TensorFrame] {
        var tensors: [Int: TensorFrame] = [:]
        var roles: [Int: String] = [:]
        for (role, descriptor) in envelope.tensorDescriptors {
            let index = Int(descriptor.frame)
            guard index >= 1, index < frames.count else {
                throw StatusError.invalidArgument(
                    "\(role) names frame \(index), but the message has frames 0..<\(frames.count) and frame 0 is the envelope")
            }
            if let other = roles[index] {
                throw StatusError.invalidArgument("\(role) and \(other) both name frame \(index); each tensor needs its own frame")
            }
            roles[index] = role
            tensors[index] = try TensorFrame(validating: descriptor, role: role, frame: frames[index], index: index)
        }
        if let stray = (1..<frames.count).first(where: { roles[$0] == nil }) {
            throw StatusError.invalidArgument(
                "frame \(stray) is not described by any tensor descriptor of this \(Envelope.protoMessageName)")
        }
        return tensors
    }
}

extension TensorFrame {
    init(validating descriptor: Loma_V1_TensorDescriptor, role: String, frame: ZMQFrame, index: Int) throws {
        guard let elementSize = descriptor.dtype.byteSize else {
            throw StatusError.invalidArgument("\(role) has dtype \(descriptor.dtype.name); expected f32, f16, bf16 or i64")
        }
        guard !descriptor.shape.isEmpty else {
            throw StatusError.invalidArgument("\(role) has no shape")
        }
        var shape: [Int] = []
        var byteCount = elementSize
        for dimension in descriptor.shape {
            guard dimension > 0, dimension <= UInt64(Int.max) else {
                throw StatusError.invalidArgument("\(role) has shape \(descriptor.shape): every axis must be positive")
            }
            let (product, overflow) = byteCount.multipliedReportingOverflow(by: Int(dimension))
            guard !overflow else {
                throw StatusError.invalidArgument(
                    "\(role) has shape \(descriptor.shape) of \(descriptor.dtype.name), whose byte size overflows 64 bits")
            }
            byteCount = product
            shape.append(Int(dimension))
        }
        guard byteCount == frame.count else {
            throw StatusError.invalidArgument(
                "\(role) has shape \(descriptor.shape) of \(descriptor.dtype.name) = \(byteCount) bytes, but frame \(index) holds \(frame.count) bytes")
        }
        self.init(dtype: descriptor.dtype, shape: shape, layout: descriptor.layout, frame: frame)
    }
}
