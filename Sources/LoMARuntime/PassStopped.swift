import LoMAProtocol

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
