/// Who is at the other end of a client connection, as the daemon's own authentication (ZAP)
/// handler decided while the connection was being set up.
///
/// It travels from the handler to the broker as the connection's ZAP user id, which libzmq then
/// attaches to every message as the `User-Id` property. A peer can put a `User-Id` of its own in
/// its ZMTP handshake, and libzmq uses that one whenever no handler ran, so the user id is sealed
/// with a secret only this daemon process knows (`TenantDirectory`): anything the broker cannot
/// unseal did not come from the handler and is refused.
enum ConnectionIdentity: Hashable, Sendable {
    /// A CURVE client whose key the clients file lists, acting as that entry's tenant.
    case curveTenant(String)
    /// A local client on an `ipc://` endpoint, identified by the uid the kernel reports for the
    /// connecting process (`SO_PEERCRED`); the clients file maps uids to tenants, per request, so
    /// a reload applies to connected clients too.
    case localUser(uid: UInt32)
    /// A client of a plain (not CURVE) `tcp://` endpoint: nothing identifies it, so it acts as
    /// the default tenant.
    case anonymous

    /// The text form inside the sealed user id: one tag letter, then the value.
    var encoded: String {
        switch self {
        case .curveTenant(let tenant): "c\(tenant)"
        case .localUser(let uid): "u\(uid)"
        case .anonymous: "a"
        }
    }

    init?(encoded: Substring) {
        guard let tag = encoded.first else { return nil }
        let value = encoded.dropFirst()
        switch tag {
        case "c" where !value.isEmpty: self = .curveTenant(String(value))
        case "u": guard let uid = UInt32(value) else { return nil }; self = .localUser(uid: uid)
        case "a" where value.isEmpty: self = .anonymous
        default: return nil
        }
    }
}
