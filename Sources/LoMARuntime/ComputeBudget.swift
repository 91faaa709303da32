import LoMAProtocol

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

/// Why a pass was stopped before its end, as the status every request of the pass gets. A
/// type of its own so that a batch whose pass was stopped is not retried request by request.
public struct PassStopped: Error {
    public let status: StatusError

    /// The daemon passed its drain deadline: the client should retry elsewhere or later.
    static let draining = PassStopped(status: .unavailable(
        "lomad is stopping and this request's pass was cancelled at the drain deadline; retry against another instance or after restart"))

    /// The pass ran past `limits.max_compute_seconds`.
    static func overComputeLimit(_ limit: Duration) -> PassStopped {
        PassStopped(status: .resourceExhausted(
            "the pass ran past limits.max_compute_seconds (\(limit.seconds) s) and was stopped; send fewer segments per request"))
    }
}
