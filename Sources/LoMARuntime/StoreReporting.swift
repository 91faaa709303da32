import LoMAProtocol

/// What the broker reports about the store in stats replies. Read on the broker thread when a
/// client asks, so the closures must be cheap and thread-safe (the store's are: one lock).
public struct StoreReporting: Sendable {
    public var statistics: @Sendable () -> Loma_V1_StoreStats?
    /// Bytes a tenant's stored segments take (what its quota limits).
    public var tenantBytes: @Sendable (String) -> Int

    public init(statistics: @escaping @Sendable () -> Loma_V1_StoreStats?, tenantBytes: @escaping @Sendable (String) -> Int) {
        self.statistics = statistics
        self.tenantBytes = tenantBytes
    }

    /// For a daemon without a store.
    public static let none = StoreReporting(statistics: { nil }, tenantBytes: { _ in 0 })
}
