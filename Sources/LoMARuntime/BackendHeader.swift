/// The frames that frame messages between the broker and a worker on the inproc backend.
///
/// Broker to worker: `[header(.requests, count: n)]` then, for each of the n requests,
/// `[part header, route frames...]`; the request itself, decoded once by the broker, waits in the
/// `RequestHandoff` under the part header's ticket. Several requests travel together when the
/// broker batches compress requests for one model into one pass.
///
/// Worker to broker: `[header(.reply), route frames..., reply frames...]` per request, the last of
/// a batch flagged `workerIdle`; the header also says which operation ended with which status, so
/// the broker keeps stats without decoding replies. A worker announces itself with `.ready`.
struct BackendHeader: Equatable {
    enum Kind: UInt8 {
        case ready = 1
        case requests = 2
        case reply = 3
    }

    var kind: Kind
    /// Requests that follow (`.requests`) or routing frames before the reply (`.reply`).
    var count: UInt8
    var operation: UInt8
    var status: UInt8
    /// `.reply` only: the worker takes new work after this reply.
    var workerIdle: Bool

    static let size = 5

    init(kind: Kind, count: UInt8 = 0, operation: UInt8 = 0, status: UInt8 = 0, workerIdle: Bool = false) {
        self.kind = kind
        self.count = count
        self.operation = operation
        self.status = status
        self.workerIdle = workerIdle
    }

    var bytes: [UInt8] { [kind.rawValue, count, operation, status, workerIdle ? 1 : 0] }

    /// Nil for bytes that are not a header: only the daemon's own threads send these, so that
    /// means a bug, which the receiver logs.
    init?(_ bytes: [UInt8]) {
        guard bytes.count == Self.size, let kind = Kind(rawValue: bytes[0]) else { return nil }
        self.init(kind: kind, count: bytes[1], operation: bytes[2], status: bytes[3], workerIdle: bytes[4] != 0)
    }
}
