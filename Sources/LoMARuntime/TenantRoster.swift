/// Who may connect and as which tenant, as the runtime asks it. The service kit's clients file
/// (`ClientAllowList`) is the one the daemon uses; the runtime knows no file format, so a reload
/// can hand it a new roster whatever it was read from.
public protocol TenantRoster: Sendable {
    /// The tenant a CURVE client key belongs to; nil refuses the client.
    func tenant(forCurveKey key: String) -> String?
    /// The tenant a local (ipc) user acts as; nil for the default tenant.
    func tenant(forUID uid: UInt32) -> String?
    /// The quota the roster gives `tenant`, if any (0: none).
    func quotaBytes(of tenant: String) -> Int?
    /// Whether it names any tenant at all (besides the default one, which it never names).
    var namesTenants: Bool { get }
}

/// Admits nobody over CURVE and maps no uid: every ipc client is the default tenant.
public struct EmptyTenantRoster: TenantRoster {
    public init() {}
    public func tenant(forCurveKey key: String) -> String? { nil }
    public func tenant(forUID uid: UInt32) -> String? { nil }
    public func quotaBytes(of tenant: String) -> Int? { nil }
    public var namesTenants: Bool { false }
}
