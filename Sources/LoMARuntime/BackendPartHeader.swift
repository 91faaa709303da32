/// Precedes each request of a `.requests` message: how many routing frames follow, the ticket
/// of the decoded request in the `RequestHandoff` (8 bytes, little-endian), and the tenant the
/// broker resolved for its connection (UTF-8, the rest of the frame). Workers never see
/// connection metadata, so the tenant travels with the request.
struct BackendPartHeader: Equatable {
    var routeFrames: Int
    var ticket: UInt64
    var tenant: String

    var bytes: [UInt8] {
        [UInt8(clamping: routeFrames)] + (0..<8).map { UInt8(truncatingIfNeeded: ticket >> (8 * $0)) } + Array(tenant.utf8)
    }

    init(routeFrames: Int, ticket: UInt64, tenant: String) {
        self.routeFrames = routeFrames
        self.ticket = ticket
        self.tenant = tenant
    }

    init?(_ bytes: [UInt8]) {
        guard bytes.count > 9 else { return nil }
        let ticket = bytes[1...8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        self.init(routeFrames: Int(bytes[0]), ticket: ticket, tenant: String(decoding: bytes[9...], as: UTF8.self))
    }
}
