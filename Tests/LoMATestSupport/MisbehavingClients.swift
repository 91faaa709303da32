import Foundation
import ZeroMQ

/// Clients that break the manners a daemon relies on, for leak and slow-peer tests. Blocking:
/// call them from a ``ZMQTestThread`` body.
public enum MisbehavingClients {
    /// For each request, connects a fresh DEALER, sends the request and closes the socket with
    /// linger 0 after a pause of `pauses[i % pauses.count]`, whether or not the reply came: a
    /// client that gives up (or dies) while its request waits or runs. Returns how many of the
    /// replies arrived before the hang-up.
    @discardableResult
    public static func hangUpMidRequest(endpoint: String, requests: [[[UInt8]]], pauses: [Duration]) throws -> Int {
        let context = try ZMQContext()
        defer { context.terminate() }
        var answeredBeforeHangUp = 0
        for (index, frames) in requests.enumerated() {
            let socket = try ZMQSocket(context: context, type: .dealer)
            defer { socket.close() }
            try socket.setLinger(0)
            try socket.connect(endpoint)
            try socket.send(frames.map { ZMQFrame(bytes: $0) })
            let pause = pauses.isEmpty ? .zero : pauses[index % pauses.count]
            let ready = try ZMQPoller.poll([PollItem(socket: socket, events: .readable)], timeout: pause)
            if ready[0].contains(.readable) { answeredBeforeHangUp += 1 }
        }
        return answeredBeforeHangUp
    }

    /// Connects a DEALER that can hold one unread reply (RCVHWM 1), sends every request and never
    /// reads: replies pile up in the daemon's send queue for it until the high-water mark, after
    /// which the daemon must drop them rather than block. Closes (linger 0) once it has sent all,
    /// after `holdFor`, so the daemon also sees a slow peer go away with replies still queued.
    public static func neverRead(endpoint: String, requests: [[[UInt8]]], holdFor: Duration = .zero) throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let socket = try ZMQSocket(context: context, type: .dealer)
        defer { socket.close() }
        try socket.setLinger(0)
        try socket.setReceiveHighWaterMark(1)
        try socket.connect(endpoint)
        for frames in requests {
            try socket.send(frames.map { ZMQFrame(bytes: $0) })
        }
        if holdFor > .zero { Thread.sleep(forTimeInterval: Double(holdFor.components.seconds) + Double(holdFor.components.attoseconds) * 1e-18) }
    }
}
