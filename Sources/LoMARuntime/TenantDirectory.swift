import Synchronization
import ZeroMQ

/// Decides which tenant a connection acts as and how much each tenant may store, from the clients
/// file and `store.tenant_quota_bytes`. Shared by the authentication handler, the broker and the
/// store's quota check; SIGHUP replaces its contents while clients stay connected.
public final class TenantDirectory: Sendable {
    private struct Contents {
        var allowList: any TenantRoster
        var defaultQuotaBytes: Int
    }

    private let contents: Mutex<Contents>
    /// The secret that seals the user ids the authentication handler gives connections: a
    /// `User-Id` without it was written by the peer, not by this daemon (`ConnectionIdentity`).
    private let seal: String
    /// The tenant of connections nobody names (anonymous, or an ipc uid the roster does not list).
    /// Given by whoever owns the store's namespaces, so the runtime needs no store for one name.
    public let defaultTenant: String

    /// - Parameters:
    ///   - defaultQuotaBytes: the quota of tenants the clients file gives none; 0 means no limit.
    ///   - defaultTenant: the tenant of connections the roster does not name.
    ///   - generator: where the seal's 128 random bits come from.
    public init(allowList: any TenantRoster = EmptyTenantRoster(), defaultQuotaBytes: Int = 0, defaultTenant: String,
                using generator: inout some RandomNumberGenerator) {
        contents = Mutex(Contents(allowList: allowList, defaultQuotaBytes: defaultQuotaBytes))
        self.defaultTenant = defaultTenant
        seal = (0..<2).map { _ in
            let word = String(generator.next(), radix: 16)
            return String(repeating: "0", count: 16 - word.count) + word
        }.joined()
    }

    public convenience init(allowList: any TenantRoster = EmptyTenantRoster(), defaultQuotaBytes: Int = 0, defaultTenant: String) {
        var generator = SystemRandomNumberGenerator()
        self.init(allowList: allowList, defaultQuotaBytes: defaultQuotaBytes, defaultTenant: defaultTenant, using: &generator)
    }

    public func update(allowList: any TenantRoster, defaultQuotaBytes: Int) {
        contents.withLock { $0 = Contents(allowList: allowList, defaultQuotaBytes: defaultQuotaBytes) }
    }

    /// The tenant a CURVE client key belongs to; nil refuses the client.
    public func tenant(forCurveKey key: String) -> String? {
        contents.withLock { $0.allowList.tenant(forCurveKey: key) }
    }

    /// The user id the authentication handler gives a connection it admits as `identity`.
    func userID(for identity: ConnectionIdentity) -> String {
        "\(seal):\(identity.encoded)"
    }

    /// The tenant of the connection a request arrived on, read from its first frame's `User-Id`:
    /// the tenant of the CURVE key the authentication handler admitted; on ipc, the tenant the
    /// clients file names now for the peer's uid; otherwise the default tenant. Nil when the user
    /// id was not sealed by this daemon's handler: the peer chose it, so it proves nothing.
    func tenant(of frame: ZMQFrame) -> String? {
        guard let identity = identity(of: frame) else { return nil }
        switch identity {
        case .curveTenant(let tenant):
            return tenant
        case .localUser(let uid):
            return contents.withLock { $0.allowList.tenant(forUID: uid) } ?? defaultTenant
        case .anonymous:
            return defaultTenant
        }
    }

    /// The uid the kernel reported for the ipc connection a request arrived on; nil for any other
    /// connection (tcp peers have no uid on this host) and for a user id this daemon did not seal.
    func localUID(of frame: ZMQFrame) -> UInt32? {
        guard case .localUser(let uid)? = identity(of: frame) else { return nil }
        return uid
    }

    /// The identity the authentication handler sealed into the frame's `User-Id`, if it did.
    private func identity(of frame: ZMQFrame) -> ConnectionIdentity? {
        guard let userID = frame.property("User-Id"), userID.hasPrefix(seal),
              userID.dropFirst(seal.count).first == ":" else { return nil }
        return ConnectionIdentity(encoded: userID.dropFirst(seal.count + 1))
    }

    /// Whether more than one tenant can connect: the clients file names at least one besides the
    /// default tenant. Per-tenant shares only mean something then; a single-tenant daemon keeps
    /// its whole queue.
    var hasSeveralTenants: Bool {
        contents.withLock { $0.allowList.namesTenants }
    }

    /// Most bytes `tenant` may store, or nil for no limit.
    public func quotaBytes(of tenant: String) -> Int? {
        let quota = contents.withLock { $0.allowList.quotaBytes(of: tenant) ?? $0.defaultQuotaBytes }
        return quota > 0 ? quota : nil
    }
}
