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
/// operation is safe to repeat. When nobody listens (no ipc socket file, a refused connection) or
/// a CURVE endpoint refuses the client, the call fails at once, as soon as libzmq's socket
/// monitor says so, instead of after every timeout.
public final class LoMAClient: Sendable {
    public let endpoint: Endpoint
    public let timeout: Duration
    public let retries: Int
    public let limits: ProtocolLimits
    /// Keys for a CURVE endpoint; nil for ipc and plain tcp.
    public let curve: CurveClientKeys?

    private let context: ZMQContext
    private let queue = DispatchQueue(label: "lomad.client")
    private let connection: ClientConnection
    private let sharedMemory: SharedMemoryChannel

    /// The defaults (5 s per attempt, 2 retries of requests safe to repeat) are the policy all
    /// lomad clients share; Examples/README.md "Timeouts and errors" documents it.
    public static let defaultTimeout: Duration = .seconds(5)
    public static let defaultRetries = 2

    /// - Parameter sharedMemory: on an ipc endpoint, pass tensors through shared-memory segments
    ///   when the daemon takes them (`SharedMemoryChannel`); tcp endpoints always use frames.
    /// - Throws: `EndpointError` when `endpoint` is one the daemon may bind but no client can
    ///   reach (`tcp://*:*`, a relative ipc path).
    public init(endpoint: Endpoint = .defaultIPC, timeout: Duration = LoMAClient.defaultTimeout,
                retries: Int = LoMAClient.defaultRetries,
                limits: ProtocolLimits = ProtocolLimits(maxFrameBytes: 1 << 30, maxFrames: 64),
                curve: CurveClientKeys? = nil, sharedMemory: Bool = true) throws {
        self.endpoint = try Endpoint(connectingTo: endpoint.description)
        self.timeout = timeout
        self.retries = max(0, retries)
        self.limits = limits
        self.curve = curve
        self.context = try ZMQContext(ioThreads: 1)
        self.connection = ClientConnection()
        self.sharedMemory = SharedMemoryChannel(enabled: sharedMemory && self.endpoint.transport == .ipc)
    }

    /// Whether requests with tensors currently go through shared memory (known after the first).
    public var usesSharedMemory: Bool {
        queue.sync { sharedMemory.isOn }
    }

    /// The shared-memory objects (`shm_open` names) this client holds now; they are removed
    /// when the client goes away.
    public var sharedMemorySegments: [String] {
        queue.sync { sharedMemory.segmentNames }
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
        if sharedMemory.needsNegotiation, operation.carriesTensors, let limit = try? sharedMemoryLimit() {
            sharedMemory.negotiated(limit: limit)
        }
        var request = Loma_V1_Request()
        request.requestID = connection.nextRequestID()
        request.operation = operation
        let viaSharedMemory = try sharedMemory.prepare(&request, tensors: tensors)
        let head: [UInt8] = try request.serializedBytes()
        do {
            let reply = try attempts(request, head: head, tensors: viaSharedMemory ? [] : tensors, idempotent: idempotent)
            // A health reply the caller asked for answers the negotiation too.
            if sharedMemory.needsNegotiation, case .health(let health)? = reply.envelope.result {
                sharedMemory.negotiated(limit: health.limits.sharedMemoryMaxBytes)
            }
            return reply
        } catch let error as StatusError where viaSharedMemory && error.code == .failedPrecondition
            && error.message.contains("shared memory") {
            // The daemon stopped taking shared memory (a reload, or it cannot see this client's
            // uid): frames always work, and nothing was done for the refused request.
            sharedMemory.turnOff()
            return try roundTrip(operation, tensors: tensors, idempotent: idempotent)
        }
    }

    /// Asks the daemon, once, how much shared memory it takes. One attempt only: when the daemon
    /// does not answer, the request itself goes as frames and reports the failure as it would
    /// have without shared memory, and the next request asks again.
    private func sharedMemoryLimit() throws -> UInt64 {
        var request = Loma_V1_Request()
        request.requestID = connection.nextRequestID()
        request.health = Loma_V1_HealthRequest()
        let reply = try attempts(request, head: try request.serializedBytes(), tensors: [], idempotent: false)
        guard case .health(let health)? = reply.envelope.result else {
            throw LoMAClientError.malformedReply("health reply without a health result")
        }
        return health.limits.sharedMemoryMaxBytes
    }

    private func attempts(_ request: Loma_V1_Request, head: [UInt8], tensors: [TensorPayload],
                          idempotent: Bool) throws -> ClientReply {
        let attempts = idempotent ? retries + 1 : 1
        var lastAttemptCutShort: String?
        for _ in 0..<attempts {
            let socket = try connection.socket(context: context, endpoint: endpoint, limits: limits, curve: curve)
            let frames = [ZMQFrame(bytes: head)] + tensors.map { ZMQFrame(bytes: $0.bytes) }
            try socket.send(frames)
            do {
                if let reply = try awaitReply(on: socket, requestID: request.requestID) {
                    return reply
                }
            } catch let error as LoMAClientError {
                // No daemon or not admitted: another attempt would fail the same way.
                connection.close()
                throw error
            }
            lastAttemptCutShort = connection.attemptCutShort
            // Lazy pirate: the old socket may hold a half-sent request or a late reply; drop it.
            connection.close()
        }
        if let reason = lastAttemptCutShort {
            throw LoMAClientError.unavailable(endpoint: endpoint.description, reason: reason)
        }
        throw LoMAClientError.timeout(endpoint: endpoint.description, attempts: attempts, timeout: timeout)
    }

    /// Waits for the reply to `requestID`, skipping late replies to earlier, abandoned attempts.
    private func awaitReply(on socket: ZMQSocket, requestID: UInt64) throws -> ClientReply? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let remaining = deadline - .now
            guard remaining > .zero else { return nil }
            var items = [PollItem(socket: socket, events: .readable)]
            if let monitor = connection.monitorSocket { items.append(PollItem(socket: monitor, events: .readable)) }
            let ready = try ZMQPoller.poll(items, timeout: remaining)
            if ready.count > 1, ready[1].contains(.readable), let failure = connection.linkFailure(endpoint: endpoint) {
                throw failure
            }
            // Handshakes cut short again and again: this attempt ends as a timeout would.
            if connection.attemptCutShort != nil { return nil }
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
            let tensors: [Int: TensorFrame]
            do {
                tensors = try sharedMemory.tensors(of: decoded)
            } catch let error as LoMAClientError {
                throw error
            } catch {
                throw LoMAClientError.malformedReply("\(error)")
            }
            return ClientReply(envelope: decoded.envelope, tensors: tensors.mapValues {
                ReceivedTensor(bytes: $0.frame.data, dtype: $0.dtype, shape: $0.shape, layout: $0.layout)
            })
        }
    }
}
