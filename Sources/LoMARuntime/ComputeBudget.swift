/// What one request's compute may use, decided by the worker that runs it: how many segments it
/// may carry, and when its pass must stop (shutdown, or the per-pass compute limit). Requests a
/// worker runs in one pass share one budget.
public struct ComputeBudget: Sendable {
    /// Most segments one compress request may carry (`limits.max_segments_per_request`).
    public var maxSegments: Int
    /// Asked by the engine between layers: nil to go on, or the error (a `PassStopped`) that ends
    /// the pass. A closure rather than the engine's own cancellation type, so that the runtime,
    /// which decides when passes stop, knows no engine; the operations hand it to the engine.
    public var stopReason: @Sendable () -> (any Error)?

    public init(maxSegments: Int, stopReason: @escaping @Sendable () -> (any Error)?) {
        self.maxSegments = maxSegments
        self.stopReason = stopReason
    }

    /// No limit: for handlers run outside a daemon.
    public static let unlimited = ComputeBudget(maxSegments: .max, stopReason: { nil })
}
