import Foundation
import ZeroMQ

/// What a flood got back: replies by outcome, as the test's classifier names them.
public struct FloodTally: Sendable, CustomStringConvertible {
    public var sent = 0
    public var outcomes: [String: Int] = [:]

    public init() {}

    public var answered: Int { outcomes.values.reduce(0, +) }
    public var unanswered: Int { sent - answered }
    public subscript(outcome: String) -> Int { outcomes[outcome] ?? 0 }

    public mutating func merge(_ other: FloodTally) {
        sent += other.sent
        outcomes.merge(other.outcomes, uniquingKeysWith: +)
    }

    public var description: String {
        "\(sent) sent, " + outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            + (unanswered > 0 ? ", unanswered \(unanswered)" : "")
    }
}

/// Clients that each send requests on their own DEALER for a while, never waiting for a reply
/// before the next send beyond keeping at most `window` unanswered: an open loop, so the load
/// offered does not fall when the daemon slows down (as it would with clients that wait), which
/// is what overloading means. Replies are counted as they come, then drained after the last send.
public struct RequestFlood: Sendable {
    public var endpoint: String
    public var clients: Int
    /// Most unanswered requests per client; a client with that many waits for a reply.
    public var window: Int
    /// Time between one client's sends (zero: as soon as the window allows), asked before each
    /// send so that a test can pace the flood by what the daemon is serving right now.
    public var interval: @Sendable () -> Duration
    public var duration: Duration
    /// How long to wait for the replies still due once sending stops.
    public var drainTimeout: Duration

    public init(endpoint: String, clients: Int, window: Int, interval: @escaping @Sendable () -> Duration = { .zero }, duration: Duration,
                drainTimeout: Duration = .seconds(90)) {
        self.endpoint = endpoint
        self.clients = clients
        self.window = window
        self.interval = interval
        self.duration = duration
        self.drainTimeout = drainTimeout
    }

    /// Floods, then returns what every client got back.
    /// - Parameters:
    ///   - request: the frames of request `index` of client `client`.
    ///   - classify: the outcome a reply's frames stand for (its status, say).
    public func run(request: @escaping @Sendable (_ client: Int, _ index: Int) throws -> [[UInt8]],
                    classify: @escaping @Sendable ([ZMQFrame]) -> String) async throws -> FloodTally {
        try await withThrowingTaskGroup(of: FloodTally.self) { group in
            for client in 0..<clients {
                group.addTask {
                    try await ZMQTestThread.run("flood client \(client)", timeout: duration + drainTimeout + .seconds(30)) {
                        try flood(client: client, request: request, classify: classify)
                    }
                }
            }
            var total = FloodTally()
            for try await tally in group { total.merge(tally) }
            return total
        }
    }

    private func flood(client: Int, request: (Int, Int) throws -> [[UInt8]],
                       classify: ([ZMQFrame]) -> String) throws -> FloodTally {
        let context = try ZMQContext()
        defer { context.terminate() }
        let socket = try ZMQSocket(context: context, type: .dealer)
        defer { socket.close() }
        try socket.setLinger(0)
        try socket.connect(endpoint)

        var tally = FloodTally()
        func collect(waitingUpTo timeout: Duration) throws {
            let ready = try ZMQPoller.poll([PollItem(socket: socket, events: .readable)], timeout: timeout)
            guard ready[0].contains(.readable) else { return }
            while let reply = try socket.receiveMessage(dontWait: true) {
                tally.outcomes[classify(reply), default: 0] += 1
            }
        }

        let start = ContinuousClock.now
        let end = start + duration
        var nextSend = start
        while ContinuousClock.now < end {
            if tally.unanswered < window, ContinuousClock.now >= nextSend {
                try socket.send(try request(client, tally.sent).map { ZMQFrame(bytes: $0) })
                tally.sent += 1
                nextSend += interval()
            }
            let untilNextSend = tally.unanswered < window ? max(.zero, nextSend - .now) : .milliseconds(20)
            try collect(waitingUpTo: min(untilNextSend, max(.zero, end - .now)))
        }
        let drainEnd = ContinuousClock.now + drainTimeout
        while tally.unanswered > 0, ContinuousClock.now < drainEnd {
            try collect(waitingUpTo: drainEnd - .now)
        }
        return tally
    }
}
