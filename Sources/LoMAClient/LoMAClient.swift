import Dispatch
import Foundation
import LoMAProtocol
import Synchronization
import ZeroMQ

/// An async client of one lomad daemon.
///
/// Each client owns one DEALER socket, confined to a private serial queue so that blocking
/// libzmq calls never run on Swift's cooperative pool; requests from one client go one at a time
/// (use several clients for parallelism). A request that gets no reply within `timeout` is sent
/// again on a fresh socket, up to `retries` times (the "lazy pirate" pattern), but only when the
/// operation is safe to repeat.
public final class LoMAClient: Sendable {
    public let endpoint: Endpoint
    public let timeout: Duration
    public let retries: Int
    public let limits: ProtocolLimits
    /// Keys for a CURVE endpoint; nil for ipc and plain tcp.
    public let curve: CurveClientKeys?

    private let context: ZMQContext
    private let queue = DispatchQueue(label: "lomad.client")
    private let connection: Connection

    public init(endpoint: Endpoint = .defaultIPC, timeout: Duration = .seconds(5), retries: Int = 2,
                limits: ProtocolLimits = ProtocolLimits(maxFrameBytes: 1 << 30, maxFrames: 64),
                curve: CurveClientKeys? = nil) throws {
        self.endpoint = endpoint
        self.timeout = timeout
        self.retries = max(0, retries)
        self.limits = limits
        self.curve = curve
        self.context = try ZMQContext(ioThreads: 1)
        self.connection = Connection()
    }

    /// Every request holds a strong reference to the client until it is answered, so when this
    /// runs no request is in flight and the socket can be closed here, on whatever thread the
    /// last reference went away (the release is the barrier libzmq needs between threads).
    deinit {
        connection.close()
        context.terminate()
    }

    public func health() async throws -> Loma_V1_HealthReply {
        let reply = try await send(.health(Loma_V1_HealthRequest()))
        guard case .health(let health)? = reply.envelope.result else {
            throw LoMAClientError.malformedReply("health reply without a health result")
        }
        return health
    }

    public func stats() async throws -> Loma_V1_StatsReply {
        let reply = try await send(.stats(Loma_V1_StatsRequest()))
        guard case .stats(let stats)? = reply.envelope.result else {
            throw LoMAClientError.malformedReply("stats reply without a stats result")
        }
        return stats
    }

    /// Sends one request and waits for its reply.
    /// - Parameters:
    ///   - tensors: payloads attached in order; frame `i + 1` carries `tensors[i]`, so the request's
    ///     descriptors name frames 1, 2, ... (see `descriptor(for:frame:)`).
    ///   - idempotent: whether the request may be sent again after a timeout.
    /// - Throws: `StatusError` when the daemon answers with a status other than OK,
    ///   `LoMAClientError` when it does not answer or answers garbage.
    public func send(_ operation: Loma_V1_Request.OneOf_Operation, tensors: [TensorPayload] = [],
                     idempotent: Bool = true) async throws -> ClientReply {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                continuation.resume(with: Result { try roundTrip(operation, tensors: tensors, idempotent: idempotent) })
            }
        }
    }

    /// The descriptor of `payload` when it travels as frame `frame`.
    public static func descriptor(for payload: TensorPayload, frame: Int) -> Loma_V1_TensorDescriptor {
        var descriptor = Loma_V1_TensorDescriptor()
        descriptor.dtype = payload.dtype
        descriptor.shape = payload.shape.map { UInt64($0) }
        descriptor.layout = payload.layout
        descriptor.frame = UInt32(frame)
        return descriptor
    }

    // MARK: blocking part, on `queue`

    private func roundTrip(_ operation: Loma_V1_Request.OneOf_Operation, tensors: [TensorPayload],
                           idempotent: Bool) throws -> ClientReply {
        var request = Loma_V1_Request()
        request.requestID = connection.nextRequestID()
        request.operation = operation
        let head: [UInt8] = try request.serializedBytes()

        let attempts = idempotent ? retries + 1 : 1
        for _ in 0..<attempts {
            let socket = try connection.socket(context: context, endpoint: endpoint, limits: limits, curve: curve)
            let frames = [ZMQFrame(bytes: head)] + tensors.map { ZMQFrame(bytes: $0.bytes) }
            try socket.send(frames)
            if let reply = try awaitReply(on: socket, requestID: request.requestID) {
                return reply
            }
            if let reason = connection.handshakeFailure() {
                connection.close()
                throw LoMAClientError.refused(endpoint: endpoint.description, reason: reason)
            }
            // Lazy pirate: the old socket may hold a half-sent request or a late reply; drop it.
            connection.close()
        }
        throw LoMAClientError.timeout(endpoint: endpoint.description, attempts: attempts, timeout: timeout)
    }

    /// Waits for the reply to `requestID`, skipping late replies to earlier, abandoned attempts.
    private func awaitReply(on socket: ZMQSocket, requestID: UInt64) throws -> ClientReply? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = deadline - .now
            guard remaining > .zero else { return nil }
            let ready = try ZMQPoller.poll([PollItem(socket: socket, events: .readable)], timeout: remaining)
            guard ready[0].contains(.readable), let frames = try socket.receiveMessage(dontWait: true) else { continue }
            let decoded: DecodedMessage<Loma_V1_Reply>
            do {
                decoded = try DecodedMessage(frames: frames, limits: limits)
            } catch {
                throw LoMAClientError.malformedReply("\(error)")
            }
            guard decoded.envelope.requestID == requestID || decoded.envelope.requestID == 0 else { continue }
            guard decoded.envelope.status.code == .ok else {
                throw StatusError(decoded.envelope.status.code, decoded.envelope.status.message)
            }
            return ClientReply(envelope: decoded.envelope, tensors: decoded.tensors.mapValues {
                ReceivedTensor(bytes: $0.frame.data, dtype: $0.dtype, shape: $0.shape, layout: $0.layout)
            })
        }
    }
}

/// The client's socket and request counter. Only ever touched on the client's serial queue,
/// which is what makes the unchecked Sendable sound: libzmq sockets may move between threads as
/// long as one thread at a time uses them, with a barrier in between (the queue provides it).
private final class Connection: @unchecked Sendable {
    private var current: ZMQSocket?
    /// Handshake events of a CURVE socket: the only way to tell "refused" from "no daemon".
    private var monitor: ZMQSocket?
    private var lastRequestID: UInt64 = 0

    func nextRequestID() -> UInt64 {
        lastRequestID &+= 1
        return lastRequestID
    }

    func socket(context: ZMQContext, endpoint: Endpoint, limits: ProtocolLimits, curve: CurveClientKeys?) throws -> ZMQSocket {
        if let current { return current }
        let socket = try ZMQSocket(context: context, type: .dealer)
        try socket.setLinger(0)
        try socket.setMaxMessageSize(Int64(limits.maxFrameBytes))
        if let curve {
            try socket.setCurveKeys(publicKey: curve.publicKey, secretKey: curve.secretKey, serverKey: curve.serverPublicKey)
            let events = "inproc://lomad-client-monitor-\(UUID().uuidString)"
            try socket.monitor(events, events: .handshakeOutcomes)
            let monitor = try ZMQSocket(context: context, type: .pair)
            try monitor.connect(events)
            self.monitor = monitor
        }
        try socket.connect(endpoint.description)
        current = socket
        return socket
    }

    /// Why the handshake failed, if the monitor saw it fail and never succeed.
    func handshakeFailure() -> String? {
        guard let monitor else { return nil }
        var failure: String?
        while let frames = try? monitor.receiveMessage(dontWait: true), let event = ZMQSocketEvent(frames: frames) {
            switch event.event {
            case .handshakeSucceeded: return nil
            case .handshakeFailedAuthentication:
                failure = "the daemon does not admit this client's CURVE key (ZAP status \(event.value)); add its public key to the clients file"
            case .handshakeFailedNoDetail, .handshakeFailedProtocol:
                failure = failure ?? "the CURVE handshake failed; check that --server-key is the daemon's public key"
            default: break
            }
        }
        return failure
    }

    func close() {
        current?.close()
        current = nil
        monitor?.close()
        monitor = nil
    }
}
