import LoMARuntime
import LoMAStore

extension StoreReporting {
    /// What the broker reports of `store` (opened in `mode`, named in stats replies). Here, not in
    /// the runtime, because the runtime knows no store.
    public init(store: MemoryStore, mode: String) {
        self.init(statistics: { store.statistics.wire(mode: mode) }, tenantBytes: { store.bytes(ofTenant: $0) })
    }
}
