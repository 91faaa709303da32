import LoMAProtocol
import ZeroMQ

/// A request accepted by the broker and waiting for a worker.
struct PendingRequest {
    var route: [ZMQFrame]
    var frames: [ZMQFrame]
    var operation: Operation
    var requestID: UInt64
    /// Requests with the same key may share one pass (compress requests for one model); nil
    /// for requests that go alone.
    var batchKey: String?
    var arrival: ContinuousClock.Instant
    /// Who the request acts for: its connection's tenant, resolved when it arrived.
    var tenant: String
    /// Bytes of its frames, counted against `maxQueuedBytes` until its reply comes back.
    var byteCount: Int
}
