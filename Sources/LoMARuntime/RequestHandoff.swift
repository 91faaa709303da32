import LoMAProtocol
import Synchronization

/// Requests the broker has decoded, waiting for the worker it handed them to. The broker decodes
/// and checks every request once, as it arrives (`DecodedMessage`: the envelope parsed, every
/// tensor frame matched to its descriptor); the backend then carries only a ticket for it, so a
/// worker runs exactly what the broker checked and never parses a request a second time.
final class RequestHandoff: Sendable {
    /// A decoded request in transit. `@unchecked` because its tensors are `ZMQFrame`s, which are
    /// not `Sendable`: each entry is moved whole from the broker thread to the one worker whose
    /// ticket names it (the broker keeps no reference once it has deposited it), so no two
    /// threads ever touch its frames at once.
    private struct Entry: @unchecked Sendable {
        let request: HandedOffRequest
    }

    private let waiting = Mutex<[UInt64: Entry]>([:])
    private let lastTicket = Atomic<UInt64>(0)

    init() {}

    /// Keeps `message` until a worker takes it; the ticket goes to that worker on the backend.
    func deposit(_ request: HandedOffRequest) -> UInt64 {
        let ticket = lastTicket.add(1, ordering: .relaxed).newValue
        let entry = Entry(request: request)
        waiting.withLock { $0[ticket] = entry }
        return ticket
    }

    /// The request `ticket` names, once: nil when it was never deposited or was already taken.
    func take(_ ticket: UInt64) -> HandedOffRequest? {
        waiting.withLock { $0.removeValue(forKey: ticket) }?.request
    }

    /// Requests deposited and not taken yet.
    var count: Int { waiting.withLock { $0.count } }
}
