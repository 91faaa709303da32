import Foundation
import LoMAProtocol
import LoMATestSupport
import ZeroMQ

/// A raw DEALER (or REQ) connection to a daemon that sends exactly the frames a test gives, so
/// tests can send what no well-behaved client would.
final class WireProbe {
    let context: ZMQContext
    let socket: ZMQSocket

    init(endpoint: String, type: SocketType = .dealer) throws {
        context = try ZMQContext()
        socket = try ZMQSocket(context: context, type: type)
        try socket.setLinger(0)
        try socket.connect(endpoint)
    }

    deinit {
        socket.close()
        context.terminate()
    }

    /// Sends `frames` and returns the decoded reply, or nil when none comes within `timeout`.
    func exchange(_ frames: [[UInt8]], timeout: Duration = .seconds(10)) throws -> DecodedMessage<Loma_V1_Reply>? {
        try socket.send(frames.map { ZMQFrame(bytes: $0) })
        return try receive(timeout: timeout)
    }

    func receive(timeout: Duration) throws -> DecodedMessage<Loma_V1_Reply>? {
        let ready = try ZMQPoller.poll([PollItem(socket: socket, events: .readable)], timeout: timeout)
        guard ready[0].contains(.readable), let reply = try socket.receiveMessage(dontWait: true) else { return nil }
        return try DecodedMessage(frames: reply, limits: ProtocolLimits(maxFrameBytes: 1 << 30, maxFrames: 64))
    }

    /// A health request's envelope bytes.
    static func healthRequest(id: UInt64) throws -> [UInt8] {
        var request = Loma_V1_Request()
        request.requestID = id
        request.health = Loma_V1_HealthRequest()
        return try request.serializedBytes()
    }

    /// Whether the daemon still answers a valid request on this connection.
    func stillServes(id: UInt64 = 4242) throws -> Bool {
        guard let reply = try exchange([Self.healthRequest(id: id)]) else { return false }
        return reply.envelope.status.code == .ok && reply.envelope.requestID == id
    }
}
