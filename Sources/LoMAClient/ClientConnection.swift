import Foundation
import LoMAProtocol
import ZeroMQ

/// The client's socket, the monitor that reports how its connection fares, and the request
/// counter. Only ever touched on the client's serial queue, which is what makes the unchecked
/// Sendable sound: libzmq sockets may move between threads as long as one thread at a time uses
/// them, with a barrier in between (the queue provides it).
final class ClientConnection: @unchecked Sendable {
    private var current: ZMQSocket?
    /// Connection and handshake events of `current`: the data path never says that nobody
    /// listens or that a CURVE key was refused, it only stays silent, and waiting out the timeout
    /// for that is what made "no daemon" cost seconds.
    private var monitor: ZMQSocket?
    /// Whether `current` ever connected; a refusal after that is a daemon going away mid-request,
    /// which the timeout and a retry handle, not "no daemon".
    private var reached = false
    /// Whether `current` speaks CURVE, which decides how a failed handshake is explained.
    private var usesCurve = false
    /// Handshakes of `current` the peer cut short in a row (see `handshakeCutLimit`).
    private var handshakesCut = 0
    /// How many cut handshakes in a row end an attempt early. A peer that closes the connection
    /// mid-handshake may be lomad at its connection limit (which passes), a CURVE endpoint to a
    /// client without keys or with the wrong server key, or not lomad: libzmq reports all of
    /// them alike, so they are retried like a timeout, not refused at once.
    static let handshakeCutLimit = 3
    /// Why the current attempt is over before its timeout: the peer cut its handshakes
    /// `handshakeCutLimit` times in a row. Nil while the attempt may still succeed.
    private(set) var attemptCutShort: String?
    private var lastRequestID: UInt64 = 0

    func nextRequestID() -> UInt64 {
        lastRequestID &+= 1
        return lastRequestID
    }

    /// The open socket, or a new one connecting to `endpoint`. Fails at once, before any socket
    /// exists, when an ipc endpoint's socket file is missing.
    func socket(context: ZMQContext, endpoint: Endpoint, limits: ProtocolLimits, curve: CurveClientKeys?) throws -> ZMQSocket {
        if let current { return current }
        if let path = endpoint.ipcPath, let problem = IPCSocketFile.problem(at: path) {
            throw LoMAClientError.unavailable(endpoint: endpoint.description, reason: problem)
        }
        let socket = try ZMQSocket(context: context, type: .dealer)
        try socket.setLinger(0)
        try socket.setMaxMessageSize(Int64(limits.maxFrameBytes))
        if let curve {
            try socket.setCurveKeys(publicKey: curve.publicKey, secretKey: curve.secretKey, serverKey: curve.serverPublicKey)
        }
        // The monitor's reader is connected before the socket connects, so no event is lost.
        let events = "inproc://lomad-client-monitor-\(UUID().uuidString)"
        try socket.monitor(events, events: ConnectionEvents.watched)
        let monitor = try ZMQSocket(context: context, type: .pair)
        try monitor.connect(events)
        self.monitor = monitor
        try socket.connect(endpoint.description)
        current = socket
        reached = false
        handshakesCut = 0
        attemptCutShort = nil
        usesCurve = curve != nil
        return socket
    }

    /// What to poll besides the socket: the monitor, whose events `linkFailure` reads.
    var monitorSocket: ZMQSocket? { monitor }

    /// Reads the monitor's pending events and returns why the connection cannot work, if they
    /// show it: the key was refused, the handshake failed, or nobody listens (libzmq retrying a
    /// connection that never succeeded).
    func linkFailure(endpoint: Endpoint) -> LoMAClientError? {
        guard let monitor else { return nil }
        while let frames = try? monitor.receiveMessage(dontWait: true), let event = ZMQSocketEvent(frames: frames) {
            switch event.event {
            case .connected:
                reached = true
            case .handshakeSucceeded:
                reached = true
                handshakesCut = 0
            case .handshakeFailedAuthentication:
                return .refused(endpoint: endpoint.description, reason: usesCurve
                    ? "the daemon does not admit this client's CURVE key (ZAP status \(event.value)); add its public key to the clients file"
                    : "the daemon does not admit this connection (ZAP status \(event.value))")
            case .handshakeFailedProtocol:
                // Without keys this is a mechanism mismatch: the daemon speaks CURVE here.
                return .refused(endpoint: endpoint.description, reason: usesCurve
                    ? "the CURVE handshake broke the protocol (error \(event.value)); check --server-key and --client-key"
                    : "the endpoint requires CURVE; pass --server-key and --client-key")
            case .handshakeFailedNoDetail:
                handshakesCut += 1
                if handshakesCut >= Self.handshakeCutLimit {
                    attemptCutShort = "the peer closed the connection during the handshake \(handshakesCut) times: lomad's connection limit may be reached (retry later), "
                        + (usesCurve ? "the server key may not be the daemon's (check --server-key), " : "the endpoint may require CURVE (pass --server-key and --client-key), ")
                        + "or it is not lomad"
                }
            case .closed, .connectRetried:
                guard !reached else { continue }
                if let path = endpoint.ipcPath {
                    // A unix socket also refuses for a moment when its listen backlog is full;
                    // only a refusal of our own probe says that nobody listens.
                    if let problem = IPCSocketFile.problem(at: path) {
                        return .unavailable(endpoint: endpoint.description, reason: problem)
                    }
                    if IPCSocketFile.refusesConnections(at: path) {
                        return .unavailable(endpoint: endpoint.description, reason:
                            "connection refused (the socket file is left from a daemon that is gone)")
                    }
                } else if event.event == .closed {
                    // libzmq closes the socket it opened when the connection is refused.
                    return .unavailable(endpoint: endpoint.description, reason: "connection refused")
                } else {
                    // A retry with no socket closed first: none was opened, the address never resolved.
                    return .unavailable(endpoint: endpoint.description, reason:
                        "cannot connect: the host name does not resolve or the address is unusable")
                }
            default:
                break
            }
        }
        return nil
    }

    func close() {
        current?.close()
        current = nil
        monitor?.close()
        monitor = nil
        reached = false
    }
}

/// The monitor events the client watches: handshake outcomes, and the connect events that show
/// nobody listens.
enum ConnectionEvents {
    static let watched: ZMQSocketEvents = ZMQSocketEvents.handshakeOutcomes.union([.connected, .connectRetried, .closed])
}
