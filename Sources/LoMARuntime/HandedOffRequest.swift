import LoMAProtocol

/// What the broker hands a worker for one request: the decoded message, and the uid of its ipc
/// connection, which a request naming shared memory needs (the worker opens only that uid's
/// segments) and which workers cannot learn otherwise, since they never see connection metadata.
struct HandedOffRequest {
    var message: DecodedMessage<Loma_V1_Request>
    /// Nil for connections that are not ipc.
    var peerUID: UInt32?
}
