import ZeroMQ

/// The client side of every exchange this bench times: a DEALER that sends one request and
/// waits for its one reply before sending the next, so each sample is one full round trip.
///
/// It knows nothing about what the bytes mean. The local benchmark sends raw payloads to an echo
/// ROUTER; pointed at a running daemon (`client --endpoint`), it sends whatever request frames
/// it is given and only checks that a reply comes back, which is what a "through the daemon"
/// column needs.
struct RoundTripClient {
    struct NoReply: Error, CustomStringConvertible {
        let roundTrip: Int
        let timeoutMilliseconds: Int32
        var description: String { "no reply to request \(roundTrip) within \(timeoutMilliseconds) ms" }
    }

    private let socket: ZMQSocket
    private let replyTimeoutMilliseconds: Int32

    /// Connects a DEALER to `endpoint`. Use it on the thread that created it.
    init(context: ZMQContext, endpoint: String, replyTimeoutMilliseconds: Int32 = 30_000) throws {
        socket = try ZMQSocket(context: context, type: .dealer)
        try socket.setReceiveTimeout(replyTimeoutMilliseconds)
        try socket.connect(endpoint)
        self.replyTimeoutMilliseconds = replyTimeoutMilliseconds
    }

    /// Runs `roundTrips` exchanges and returns the duration of each.
    /// - Parameters:
    ///   - makeRequest: the frames of request `i`; fresh ones each time, since sending empties
    ///     a frame (wrap long-lived buffers with `ZMQFrame(noCopy:release:)` to avoid copies).
    ///   - checkReply: throws if a reply is not what the exchange expects.
    func measure(
        roundTrips: Int,
        makeRequest: (Int) throws -> [ZMQFrame],
        checkReply: ([ZMQFrame]) throws -> Void
    ) throws -> [Duration] {
        let clock = ContinuousClock()
        var samples: [Duration] = []
        samples.reserveCapacity(roundTrips)
        for index in 0..<roundTrips {
            let request = try makeRequest(index)
            let start = clock.now
            try socket.send(request)
            guard let reply = try socket.receiveMessage() else {
                throw NoReply(roundTrip: index, timeoutMilliseconds: replyTimeoutMilliseconds)
            }
            samples.append(clock.now - start)
            try checkReply(reply)
        }
        return samples
    }

    /// Closes the DEALER so the context can terminate.
    func close() {
        socket.close()
    }
}
