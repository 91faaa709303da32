import ZeroMQ

/// A tensor whose descriptor has been checked against the frame that carries its bytes: the
/// dtype is a real one, every axis is positive and `shape x dtype size == frame size`. Handlers
/// can read it without re-checking. The bytes stay in the received frame (no copy) and may be
/// unaligned.
public struct TensorFrame {
    public let dtype: Loma_V1_DType
    public let shape: [Int]
    public let layout: Loma_V1_KVLayout
    public let frame: ZMQFrame

    public var elementCount: Int { shape.reduce(1, *) }

    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try frame.withUnsafeBytes(body)
    }
}
