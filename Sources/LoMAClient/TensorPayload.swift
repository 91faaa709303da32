import Foundation
import LoMAProtocol

/// Tensor bytes to send with a request, with the descriptor fields that say how to read them.
public struct TensorPayload: Sendable {
    public var bytes: Data
    public var dtype: Loma_V1_DType
    public var shape: [Int]
    public var layout: Loma_V1_KVLayout

    public init(bytes: Data, dtype: Loma_V1_DType, shape: [Int], layout: Loma_V1_KVLayout = .headsMajor) {
        self.bytes = bytes
        self.dtype = dtype
        self.shape = shape
        self.layout = layout
    }
}

/// A tensor of a reply, copied out of its frame so it can leave the client's I/O thread.
public struct ReceivedTensor: Sendable {
    public var bytes: Data
    public var dtype: Loma_V1_DType
    public var shape: [Int]
    public var layout: Loma_V1_KVLayout
}

/// A reply whose status was OK, with its tensors by frame index.
public struct ClientReply: Sendable {
    public var envelope: Loma_V1_Reply
    public var tensors: [Int: ReceivedTensor]

    public func tensor(_ descriptor: Loma_V1_TensorDescriptor) -> ReceivedTensor? {
        tensors[Int(descriptor.frame)]
    }
}
