/// Precedes each request of a `.requests` message: how many routing and application frames it
/// has, and the tenant the broker resolved for its connection (UTF-8, the rest of the frame).
/// Workers never see connection metadata, so the tenant travels with the request.
struct BackendPartHeader: Equatable {
    var routeFrames: Int
    var applicationFrames: Int
    var tenant: String

    var bytes: [UInt8] { [UInt8(clamping: routeFrames), UInt8(clamping: applicationFrames)] + Array(tenant.utf8) }

    init(routeFrames: Int, applicationFrames: Int, tenant: String) {
        self.routeFrames = routeFrames
        self.applicationFrames = applicationFrames
        self.tenant = tenant
    }

    init?(_ bytes: [UInt8]) {
        guard bytes.count > 2 else { return nil }
        self.init(routeFrames: Int(bytes[0]), applicationFrames: Int(bytes[1]),
                  tenant: String(decoding: bytes[2...], as: UTF8.self))
    }
}
