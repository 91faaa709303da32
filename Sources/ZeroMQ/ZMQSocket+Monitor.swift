import CZeroMQ

/// Connection events a socket monitor can report (`zmq_socket_monitor`).
public struct ZMQSocketEvents: OptionSet, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }

    public static let connected = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_CONNECTED))
    public static let accepted = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_ACCEPTED))
    public static let disconnected = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_DISCONNECTED))
    /// A connect attempt failed and libzmq will try again after the reconnect interval.
    public static let connectRetried = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_CONNECT_RETRIED))
    /// libzmq closed a socket it had opened, e.g. the one of a refused connect attempt.
    public static let closed = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_CLOSED))
    /// The connection ended during the security handshake without a reason from the peer: a
    /// mechanism mismatch (plain text against CURVE), a wrong server key, or the peer closing it.
    public static let handshakeFailedNoDetail = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL))
    public static let handshakeSucceeded = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_SUCCEEDED))
    /// The peers broke the handshake protocol (the value holds which rule).
    public static let handshakeFailedProtocol = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL))
    /// The authentication handler refused the peer (the value is the ZAP status, e.g. 400).
    public static let handshakeFailedAuthentication = ZMQSocketEvents(rawValue: UInt16(ZMQ_EVENT_HANDSHAKE_FAILED_AUTH))

    /// Every way a handshake can end.
    public static let handshakeOutcomes: ZMQSocketEvents = [
        .handshakeSucceeded, .handshakeFailedNoDetail, .handshakeFailedProtocol, .handshakeFailedAuthentication,
    ]
}

/// One event read from a monitor socket.
public struct ZMQSocketEvent: Sendable, Equatable {
    public let event: ZMQSocketEvents
    /// The event's value: a file descriptor, an errno, a ZAP status code, depending on the event.
    public let value: UInt32
    public let endpoint: String

    /// Parses the two-frame monitor message: 2 bytes event and 4 bytes value (host order), then
    /// the endpoint. Nil for anything else.
    public init?(frames: [ZMQFrame]) {
        guard frames.count == 2, frames[0].count == 6 else { return nil }
        (event, value) = frames[0].withUnsafeBytes {
            (ZMQSocketEvents(rawValue: $0.loadUnaligned(as: UInt16.self)), $0.loadUnaligned(fromByteOffset: 2, as: UInt32.self))
        }
        endpoint = frames[1].string
    }
}

extension ZMQSocket {
    /// Starts publishing `events` on this socket to a PAIR socket that connects to `endpoint`
    /// (an `inproc://` name); read them with ``ZMQSocketEvent/init(frames:)``. It is how a client
    /// learns why a secured server refused it, which the data path never says.
    public func monitor(_ endpoint: String, events: ZMQSocketEvents) throws {
        let socket = try openHandle(for: "zmq_socket_monitor(\(endpoint))")
        _ = try retryingOnInterrupt("zmq_socket_monitor(\(endpoint))") {
            zmq_socket_monitor(socket, endpoint, Int32(events.rawValue))
        }
    }
}
