import CoreMetrics
import Logging
import ZeroMQ

/// Keeps the client connections the broker's ROUTER holds within `limits.max_connections` (and
/// each peer within `limits.max_connections_per_peer`), so libzmq never runs the process out of
/// descriptors (see `DescriptorLimit` for why that must never happen).
///
/// libzmq has no connection limit of its own, so the gate watches the ROUTER's monitor: every
/// accepted connection is reported with its descriptor, and one past a limit is shut down at
/// once, which libzmq sees as the peer leaving. Refusing after the accept means the descriptor
/// count can pass the limit by the connections accepted but not yet seen (at most the monitor
/// backlog, since a full monitor pipe stops libzmq's I/O thread) and those refused but not yet
/// closed by libzmq; `DescriptorLimit.maxConnections` keeps room for both. Only the broker
/// thread uses a gate.
final class ConnectionGate {
    /// The PAIR socket the monitor events arrive on; the broker polls it.
    let events: ZMQSocket
    private let maxConnections: Int
    private let maxPerPeer: Int
    private let logger: Logger
    private let clock: ContinuousClock
    private var open: [Int32: AcceptedConnection] = [:]
    private var openPerPeer: [String: Int] = [:]
    private(set) var refused: UInt64 = 0
    private var lastReconciled: ContinuousClock.Instant?
    private var refusalLog = RateLimitedCount(interval: .seconds(10))
    private let connectionsGauge = Gauge(label: MetricName.connections)
    private let refusedCounter = Counter(label: MetricName.refusedConnections)

    /// Starts monitoring `socket` (before it binds anything, so no accept goes unseen).
    /// - Parameter endpoint: the inproc name the monitor publishes on.
    init(monitoring socket: ZMQSocket, endpoint: String, context: ZMQContext, maxConnections: Int, maxPerPeer: Int,
         logger: Logger, clock: ContinuousClock = ContinuousClock()) throws {
        self.maxConnections = maxConnections
        self.maxPerPeer = maxPerPeer
        self.logger = logger
        self.clock = clock
        events = try ZMQSocket(context: context, type: .pair)
        do {
            try events.setLinger(0)
            // Bounded on purpose: libzmq sends monitor events with a blocking send, so once
            // `DescriptorLimit.monitorBacklog` events wait unread its I/O thread stops (accepting
            // included) until the broker reads them. That caps how many connections can be
            // accepted before the gate has seen them, however far the broker thread falls behind;
            // the pipe holds this socket's high-water mark plus the monitor's own (1000).
            try events.setReceiveHighWaterMark(1)
            try socket.monitor(endpoint, events: [.accepted, .disconnected])
            try events.connect(endpoint)
        } catch {
            events.close()
            throw error
        }
    }

    func close() {
        events.close()
    }

    var openConnections: Int { open.count }

    /// Applies every event waiting. Events are read as a batch first, so an accept whose
    /// connection already closed is recognised by the disconnect that follows it, and its
    /// descriptor number (perhaps reused since) is left alone.
    func handleEvents() throws {
        var batch: [ZMQSocketEvent] = []
        while let frames = try events.receiveMessage(dontWait: true) {
            if let event = ZMQSocketEvent(frames: frames) { batch.append(event) }
        }
        var lastDisconnect: [UInt32: Int] = [:]
        for (index, event) in batch.enumerated() where event.event == .disconnected {
            lastDisconnect[event.value] = index
        }
        for (index, event) in batch.enumerated() {
            let descriptor = Int32(bitPattern: event.value)
            if event.event == .accepted {
                let closedSince = lastDisconnect[event.value].map { $0 > index } ?? false
                if !closedSince { admit(descriptor, listener: event.endpoint) }
            } else if event.event == .disconnected {
                forget(descriptor)
            }
        }
        connectionsGauge.record(open.count)
    }

    private func admit(_ descriptor: Int32, listener: String) {
        // libzmq closed the connection that had this number without an event: it is gone.
        forget(descriptor)
        guard let connection = AcceptedConnection(descriptor: descriptor, listener: listener) else { return }
        if open.count >= maxConnections || openPerPeer[connection.peer, default: 0] >= maxPerPeer {
            reconcile()
        }
        let reason: String? = if open.count >= maxConnections {
            "limits.max_connections (\(maxConnections)) reached"
        } else if openPerPeer[connection.peer, default: 0] >= maxPerPeer {
            "limits.max_connections_per_peer (\(maxPerPeer)) reached for \(connection.peer)"
        } else {
            nil
        }
        track(connection)
        if let reason { refuse(connection, reason: reason, listener: listener) }
    }

    /// A refused connection keeps its descriptor until libzmq closes it, so it stays counted
    /// until its disconnect event.
    private func refuse(_ connection: AcceptedConnection, reason: String, listener: String) {
        connection.shutDown()
        refused += 1
        refusedCounter.increment()
        if let suppressed = refusalLog.shouldLog(now: clock.now) {
            logger.warning("connection refused", metadata: [
                "reason": "\(reason)", "endpoint": "\(listener)", "peer": "\(connection.peer)",
                "open_connections": "\(open.count)", "refused_since_last_log": "\(suppressed)",
            ])
        }
    }

    private func track(_ connection: AcceptedConnection) {
        open[connection.descriptor] = connection
        openPerPeer[connection.peer, default: 0] += 1
    }

    private func forget(_ descriptor: Int32) {
        guard let connection = open.removeValue(forKey: descriptor) else { return }
        let remaining = openPerPeer[connection.peer, default: 1] - 1
        openPerPeer[connection.peer] = remaining > 0 ? remaining : nil
    }

    /// Drops connections libzmq closed without a monitor event (it does so when it ends a
    /// connection itself rather than on an error), at most once a second: only needed when a
    /// limit is about to refuse someone.
    private func reconcile() {
        let now = clock.now
        if let lastReconciled, now - lastReconciled < .seconds(1) { return }
        lastReconciled = now
        for (descriptor, connection) in open where !connection.isOpen {
            forget(descriptor)
        }
    }
}
