import Foundation

/// How a `CompressedMemoryStore` keeps its data.
public struct StoreConfiguration: Sendable {
    public enum Mode: Sendable, Equatable {
        /// RAM only. The RAM budget is a hard cap: a write that does not fit is refused with
        /// `resourceExhausted`; nothing the store acknowledged is ever dropped to make room.
        case memory
        /// RAM in front of an LMDB environment in `directory`. A write returns only after its
        /// transaction committed; the RAM tier is a cache and evicting from it only frees RAM.
        case durable(directory: URL)
    }

    public enum Quantization: Sendable, Equatable {
        /// Segments are stored as the f32 values they arrived with.
        case none
        /// Keys and values are stored as int8 with one f32 scale per (layer, head, channel),
        /// about a quarter of the bytes; reads return the dequantized values (see docs/store.md
        /// for the error this adds).
        case int8PerChannel
    }

    /// The most bytes of segment data `tenant` may hold, or nil for no limit. Asked at every
    /// write that adds data, so a quota changed while the store is open applies to the next one.
    public typealias TenantQuota = @Sendable (_ tenant: String) -> Int?

    public var mode: Mode
    /// Bytes of encoded segment data the RAM tier may hold.
    public var ramBudgetBytes: Int
    /// Size of the LMDB memory map: the most the durable tier can ever hold (durable mode).
    public var mapSizeBytes: Int
    public var quantization: Quantization
    public var tenantQuota: TenantQuota?
    /// The tier many daemons share (Redis), behind RAM and LMDB; nil for a store of this daemon
    /// alone. With it, writes are acknowledged once the shared tier has them and the local
    /// tiers cache what it holds (docs/store.md, "Shared tier").
    public var sharedTier: (any SharedTier)?

    public init(mode: Mode, ramBudgetBytes: Int = 1 << 30, mapSizeBytes: Int = 64 << 30,
                quantization: Quantization = .none, tenantQuota: TenantQuota? = nil, sharedTier: (any SharedTier)? = nil) {
        self.sharedTier = sharedTier
        self.mode = mode
        self.ramBudgetBytes = ramBudgetBytes
        self.mapSizeBytes = mapSizeBytes
        self.quantization = quantization
        self.tenantQuota = tenantQuota
    }
}
