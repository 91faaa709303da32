/// The first frame of every message between the broker and a worker. It tells the worker how
/// many routing frames precede the client's application frames (one for DEALER clients, two for
/// REQ clients) and tells the broker, on the way back, which operation ended with which status, so
/// the broker can keep stats without decoding replies.
struct BackendHeader: Equatable {
    enum Kind: UInt8 {
        /// Worker to broker: ready for a request (sent once at start).
        case ready = 1
        /// Broker to worker: a request. Worker to broker: its reply.
        case message = 2
    }

    var kind: Kind
    var routeFrames: UInt8
    var operation: UInt8
    var status: UInt8

    static let size = 4

    var bytes: [UInt8] { [kind.rawValue, routeFrames, operation, status] }

    init(kind: Kind, routeFrames: UInt8 = 0, operation: UInt8 = 0, status: UInt8 = 0) {
        self.kind = kind
        self.routeFrames = routeFrames
        self.operation = operation
        self.status = status
    }

    /// Nil for bytes that are not a header; only the daemon's own threads send these, so that
    /// means a bug, which the broker logs.
    init?(_ bytes: [UInt8]) {
        guard bytes.count == Self.size, let kind = Kind(rawValue: bytes[0]) else { return nil }
        self.init(kind: kind, routeFrames: bytes[1], operation: bytes[2], status: bytes[3])
    }
}
