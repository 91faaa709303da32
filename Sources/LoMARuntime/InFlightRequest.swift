import LoMAProtocol
import ZeroMQ

/// A request a worker holds: who to answer should the worker never reply (shutdown), when it
/// arrived (for latency) and what it counts against the budget.
struct InFlightRequest {
    var route: [ZMQFrame]
    var operation: Operation
    var requestID: UInt64
    var arrival: ContinuousClock.Instant
    var byteCount: Int
}
