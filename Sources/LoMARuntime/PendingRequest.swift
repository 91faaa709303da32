import LoMAProtocol
import ZeroMQ

/// A request accepted by the broker and waiting for a worker: decoded and checked already, so
/// the worker it goes to runs it as it is (`RequestHandoff`).
struct PendingRequest {
    var route: [ZMQFrame]
    var message: DecodedMessage<Loma_V1_Request>
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
    /// The uid of its ipc connection, for a request naming shared memory; nil on tcp.
    var peerUID: UInt32?
}
