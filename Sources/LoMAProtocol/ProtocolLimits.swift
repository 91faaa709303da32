/// Bounds on what one message may carry. The daemon answers a message over a soft limit with a
/// status; libzmq itself drops a connection whose frame passes `hardMaxFrameBytes`
/// (`ZMQ_MAXMSGSIZE`), before the frame is ever held in memory whole.
public struct ProtocolLimits: Sendable, Equatable {
    /// Largest tensor frame the daemon accepts and answers about.
    public var maxFrameBytes: Int
    /// Most frames in one message, envelope included.
    public var maxFrames: Int

    public init(maxFrameBytes: Int = 256 << 20, maxFrames: Int = 16) {
        self.maxFrameBytes = maxFrameBytes
        self.maxFrames = maxFrames
    }

    /// The `ZMQ_MAXMSGSIZE` to pair with `maxFrameBytes`: large enough that a moderately oversized
    /// frame still gets a precise RESOURCE_EXHAUSTED reply, bounded so that a hostile one cannot
    /// make the daemon allocate without limit.
    public var hardMaxFrameBytes: Int {
        let (product, overflow) = maxFrameBytes.multipliedReportingOverflow(by: 4)
        return overflow ? Int.max : product
    }
}
