import CZeroMQ

/// What a socket is ready for, or which readiness to wait for.
public struct PollEvents: OptionSet, Sendable, Hashable {
    public let rawValue: Int16

    public init(rawValue: Int16) {
        self.rawValue = rawValue
    }

    /// A message can be received without blocking.
    public static let readable = PollEvents(rawValue: Int16(ZMQ_POLLIN))
    /// A message can be sent without blocking.
    public static let writable = PollEvents(rawValue: Int16(ZMQ_POLLOUT))
}

/// A socket and the events to wait for on it.
public struct PollItem {
    public let socket: ZMQSocket
    public let events: PollEvents

    public init(socket: ZMQSocket, events: PollEvents) {
        self.socket = socket
        self.events = events
    }
}

/// `zmq_poll` over sockets owned by the calling thread.
public enum ZMQPoller {
    /// Waits until at least one item is ready or `timeout` passes (nil waits forever).
    /// A signal does not cut the wait short: the remaining time is waited again.
    ///
    /// - Returns: the ready events of each item, in the order of `items` (all empty on timeout).
    /// - Throws: ``ZMQError/isTerminated`` when the context shuts down; `ENOTSOCK` for a closed socket.
    public static func poll(_ items: [PollItem], timeout: Duration?) throws -> [PollEvents] {
        var rawItems = try items.map { item in
            zmq_pollitem_t(socket: try item.socket.openHandle(for: "zmq_poll"), fd: 0,
                           events: item.events.rawValue, revents: 0)
        }
        let clock = ContinuousClock()
        let deadline = timeout.map { clock.now + $0 }
        while true {
            let remaining = deadline.map { milliseconds(rounding: $0 - clock.now) } ?? -1
            let result = rawItems.withUnsafeMutableBufferPointer {
                zmq_poll($0.baseAddress, Int32($0.count), remaining)
            }
            if result >= 0 { break }
            let code = zmq_errno()
            if code != EINTR { throw ZMQError(code: code, operation: "zmq_poll") }
        }
        return rawItems.map { PollEvents(rawValue: $0.revents) }
    }

    /// Whole milliseconds for `zmq_poll`, rounded up so a short positive wait never becomes a
    /// busy zero-timeout poll.
    private static func milliseconds(rounding duration: Duration) -> Int {
        guard duration > .zero else { return 0 }
        let (seconds, attoseconds) = duration.components
        let partial = (attoseconds + 999_999_999_999_999) / 1_000_000_000_000_000
        let (whole, overflow) = seconds.multipliedReportingOverflow(by: 1000)
        return overflow ? Int.max : Int(clamping: whole + partial)
    }
}
