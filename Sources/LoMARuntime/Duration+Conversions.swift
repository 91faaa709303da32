import Dispatch

/// The two forms a `Duration` takes where it leaves Swift's clock types: seconds for metrics,
/// health and messages, and an interval for Dispatch timers (the purge and the allocator trim).
extension Duration {
    package var seconds: Double {
        Double(components.seconds) + Double(components.attoseconds) * 1e-18
    }

    /// Whole nanoseconds, the seconds clamped to 2^32 so the product cannot overflow `Int`
    /// (settings allow at most a day).
    package var dispatchInterval: DispatchTimeInterval {
        let (seconds, attoseconds) = components
        return .nanoseconds(Int(min(seconds, 1 << 32)) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
    }
}
