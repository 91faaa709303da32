import SwiftProtobuf
import ZeroMQ

/// Builds the frames of a loma.v1 message: tensors are attached as their own frames (numbered in
/// the order attached) and the envelope, serialized last, goes in front.
public struct OutgoingMessage {
    private var tensorFrames: [ZMQFrame] = []

    public init() {}

    /// Appends a tensor frame and returns the descriptor that names it.
    public mutating func attach(_ frame: ZMQFrame, dtype: Loma_V1_DType, shape: [Int],
                                layout: Loma_V1_KVLayout = .unspecified) -> Loma_V1_TensorDescriptor {
        tensorFrames.append(frame)
        var descriptor = Loma_V1_TensorDescriptor()
        descriptor.dtype = dtype
        descriptor.shape = shape.map { UInt64($0) }
        descriptor.layout = layout
        descriptor.frame = UInt32(tensorFrames.count)
        return descriptor
    }

    /// The attached tensor frames, in order (frame i + 1 is `tensors[i]`): what a reply segment
    /// receives in their place when the request asked for shared memory.
    public var tensors: [ZMQFrame] { tensorFrames }

    /// The envelope alone, its tensors having gone elsewhere (a shared-memory reply segment).
    public static func envelopeOnly(_ envelope: some SwiftProtobuf.Message) throws -> [ZMQFrame] {
        [ZMQFrame(bytes: try envelope.serializedBytes() as [UInt8])]
    }

    /// The envelope frame followed by the attached tensor frames.
    public func frames(envelope: some SwiftProtobuf.Message) throws -> [ZMQFrame] {
        let head: [UInt8] = try envelope.serializedBytes()
        return [ZMQFrame(bytes: head)] + tensorFrames
    }
}
