import LoMAStore
import Synchronization
import ZeroMQ

/// Decides which tenant a connection acts as and how much each tenant may store, from the clients
/// file and `store.tenant_quota_bytes`. Shared by the authentication handler, the broker and the
/// store's quota check; SIGHUP replaces its contents while clients stay connected.
public final class TenantDirectory: Sendable {
    private struct Contents {
        var allowList: ClientAllowList
        var defaultQuotaBytes: Int
    }

    private let contents: Mutex<Contents>

    /// - Parameter defaultQuotaBytes: the quota of tenants the clients file gives none; 0 means
    ///   no limit.
    public init(allowList: ClientAllowList = ClientAllowList(), defaultQuotaBytes: Int = 0) {
        contents = Mutex(Contents(allowList: allowList, defaultQuotaBytes: defaultQuotaBytes))
    }

    public func update(allowList: ClientAllowList, defaultQuotaBytes: Int) {
        contents.withLock { $0 = Contents(allowList: allowList, defaultQuotaBytes: defaultQuotaBytes) }
    }

    /// The tenant a CURVE client key belongs to; nil refuses the client.
    public func tenant(forCurveKey key: String) -> String? {
        contents.withLock { $0.allowList.tenant(forCurveKey: key) }
    }

    /// The tenant of the connection a request arrived on, read from its first frame: the user id
    /// the authentication handler gave a CURVE connection; on ipc, the tenant the clients file
    /// names for the peer's uid (which the kernel supplies); otherwise the default tenant.
    func tenant(of frame: ZMQFrame) -> String {
        if let authenticated = frame.property("User-Id"), !authenticated.isEmpty { return authenticated }
        if let uid = frame.peerUID, let tenant = contents.withLock({ $0.allowList.tenant(forUID: uid) }) { return tenant }
        return MemoryStore.defaultTenant
    }

    /// Most bytes `tenant` may store, or nil for no limit.
    public func quotaBytes(of tenant: String) -> Int? {
        let quota = contents.withLock { $0.allowList.quotaBytes(of: tenant) ?? $0.defaultQuotaBytes }
        return quota > 0 ? quota : nil
    }
}
