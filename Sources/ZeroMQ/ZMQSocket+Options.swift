import CZeroMQ

/// Typed socket options. Every setter names the libzmq option in its error, so a rejected value
/// (say, a malformed CURVE key) is reported as `zmq_setsockopt(ZMQ_CURVE_SERVERKEY)`.
extension ZMQSocket {
    /// How long, in milliseconds, unsent messages are kept after ``close()`` (-1 forever, 0 drop).
    public func setLinger(_ milliseconds: Int32) throws {
        try setOption(ZMQ_LINGER, "ZMQ_LINGER", milliseconds)
    }

    /// Outgoing messages queued per peer before sends block or fail (0 is unlimited).
    public func setSendHighWaterMark(_ messages: Int32) throws {
        try setOption(ZMQ_SNDHWM, "ZMQ_SNDHWM", messages)
    }

    /// Incoming messages queued per peer before libzmq stops reading from it (0 is unlimited).
    public func setReceiveHighWaterMark(_ messages: Int32) throws {
        try setOption(ZMQ_RCVHWM, "ZMQ_RCVHWM", messages)
    }

    /// Largest message part a peer may send; a peer that sends more is disconnected before the
    /// bytes are buffered, which is what keeps an oversized request from exhausting memory.
    public func setMaxMessageSize(_ bytes: Int64) throws {
        try setOption(ZMQ_MAXMSGSIZE, "ZMQ_MAXMSGSIZE", int64: bytes)
    }

    /// ROUTER only: make sends to an unknown or disconnected routing id throw `EHOSTUNREACH`
    /// instead of being dropped silently.
    public func setRouterMandatory(_ enabled: Bool) throws {
        try setOption(ZMQ_ROUTER_MANDATORY, "ZMQ_ROUTER_MANDATORY", enabled ? 1 : 0)
    }

    /// Milliseconds a receive waits before returning nil (-1 forever).
    public func setReceiveTimeout(_ milliseconds: Int32) throws {
        try setOption(ZMQ_RCVTIMEO, "ZMQ_RCVTIMEO", milliseconds)
    }

    /// Milliseconds a send waits before returning false (-1 forever).
    public func setSendTimeout(_ milliseconds: Int32) throws {
        try setOption(ZMQ_SNDTIMEO, "ZMQ_SNDTIMEO", milliseconds)
    }

    /// The identity a ROUTER peer sees for this socket (1 to 255 bytes, not starting with 0).
    public func setRoutingID(_ bytes: [UInt8]) throws {
        try bytes.withUnsafeBytes { try setOption(ZMQ_ROUTING_ID, "ZMQ_ROUTING_ID", bytes: $0) }
    }

    /// The identity of this socket as set by ``setRoutingID(_:)`` (empty if none was set).
    public var routingID: [UInt8] {
        get throws {
            var buffer = [UInt8](repeating: 0, count: 256)
            let size = try buffer.withUnsafeMutableBytes {
                try getOption(ZMQ_ROUTING_ID, "ZMQ_ROUTING_ID", into: $0)
            }
            return Array(buffer.prefix(size))
        }
    }

    /// Queue messages only to completed connections, so a send to a peer that is not there yet
    /// blocks (or fails with `dontWait`) instead of waiting in a queue that may never drain.
    public func setImmediate(_ enabled: Bool) throws {
        try setOption(ZMQ_IMMEDIATE, "ZMQ_IMMEDIATE", enabled ? 1 : 0)
    }

    /// ZMTP heartbeats: ping every `interval` ms, drop the connection when no traffic arrives
    /// within `timeout` ms, and ask the peer to drop it after `ttl` ms of silence.
    /// This is how a daemon notices clients that vanished without closing their connection.
    public func setHeartbeat(interval: Int32, timeout: Int32, ttl: Int32) throws {
        try setOption(ZMQ_HEARTBEAT_IVL, "ZMQ_HEARTBEAT_IVL", interval)
        try setOption(ZMQ_HEARTBEAT_TIMEOUT, "ZMQ_HEARTBEAT_TIMEOUT", timeout)
        try setOption(ZMQ_HEARTBEAT_TTL, "ZMQ_HEARTBEAT_TTL", ttl)
    }

    /// Milliseconds a new connection has to complete the ZMTP handshake (greeting and security
    /// mechanism) before libzmq closes it (0: forever). It is what frees the descriptor of a peer
    /// that connects and never speaks.
    public func setHandshakeInterval(_ milliseconds: Int32) throws {
        try setOption(ZMQ_HANDSHAKE_IVL, "ZMQ_HANDSHAKE_IVL", milliseconds)
    }

    /// Act as the CURVE server (the side holding the long-term secret key). Pair it with
    /// ``setCurveKeys(publicKey:secretKey:serverKey:)`` without a server key.
    public func setCurveServer(_ enabled: Bool) throws {
        try setOption(ZMQ_CURVE_SERVER, "ZMQ_CURVE_SERVER", enabled ? 1 : 0)
    }

    /// CURVE keys as 40-character Z85 strings (see ``ZMQCurve/keyPair()``). A client also passes
    /// the server's public key; a server passes nil.
    public func setCurveKeys(publicKey: String, secretKey: String, serverKey: String? = nil) throws {
        try setOption(ZMQ_CURVE_PUBLICKEY, "ZMQ_CURVE_PUBLICKEY", string: publicKey)
        try setOption(ZMQ_CURVE_SECRETKEY, "ZMQ_CURVE_SECRETKEY", string: secretKey)
        if let serverKey {
            try setOption(ZMQ_CURVE_SERVERKEY, "ZMQ_CURVE_SERVERKEY", string: serverKey)
        }
    }

    /// The ZAP domain that selects which authentication handler judges this socket's peers.
    public func setZapDomain(_ domain: String) throws {
        try setOption(ZMQ_ZAP_DOMAIN, "ZMQ_ZAP_DOMAIN", string: domain)
    }

    /// SUB only: receive messages whose first frame starts with `prefix` (empty: everything).
    public func subscribe(_ prefix: [UInt8] = []) throws {
        try prefix.withUnsafeBytes { try setOption(ZMQ_SUBSCRIBE, "ZMQ_SUBSCRIBE", bytes: $0) }
    }

    /// SUB only: undo one earlier ``subscribe(_:)`` with the same prefix.
    public func unsubscribe(_ prefix: [UInt8] = []) throws {
        try prefix.withUnsafeBytes { try setOption(ZMQ_UNSUBSCRIBE, "ZMQ_UNSUBSCRIBE", bytes: $0) }
    }

    /// The endpoint last bound or connected, with wildcards resolved: binding
    /// `tcp://127.0.0.1:*` reads back the port the kernel chose.
    public var lastEndpoint: String {
        get throws {
            var buffer = [UInt8](repeating: 0, count: 1024)
            let size = try buffer.withUnsafeMutableBytes {
                try getOption(ZMQ_LAST_ENDPOINT, "ZMQ_LAST_ENDPOINT", into: $0)
            }
            // libzmq includes the terminating NUL in the size.
            return String(decoding: buffer.prefix(size).prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    /// Whether the part received last is followed by more parts of the same message.
    public var hasMoreFrames: Bool {
        get throws { try int32Option(ZMQ_RCVMORE, "ZMQ_RCVMORE") != 0 }
    }

    // MARK: - Raw access, one path for every option

    private func setOption(_ option: Int32, _ name: String, _ value: Int32) throws {
        try withUnsafeBytes(of: value) { try setOption(option, name, bytes: $0) }
    }

    private func setOption(_ option: Int32, _ name: String, int64 value: Int64) throws {
        try withUnsafeBytes(of: value) { try setOption(option, name, bytes: $0) }
    }

    /// libzmq clears a string option only when given a null pointer with length 0.
    private func setOption(_ option: Int32, _ name: String, string: String) throws {
        guard !string.isEmpty else { return try setOption(option, name, bytes: UnsafeRawBufferPointer(start: nil, count: 0)) }
        try Array(string.utf8).withUnsafeBytes { try setOption(option, name, bytes: $0) }
    }

    private func setOption(_ option: Int32, _ name: String, bytes: UnsafeRawBufferPointer) throws {
        let socket = try openHandle(for: "zmq_setsockopt(\(name))")
        _ = try retryingOnInterrupt("zmq_setsockopt(\(name))") {
            zmq_setsockopt(socket, option, bytes.baseAddress, bytes.count)
        }
    }

    private func int32Option(_ option: Int32, _ name: String) throws -> Int32 {
        var value: Int32 = 0
        _ = try withUnsafeMutableBytes(of: &value) { try getOption(option, name, into: $0) }
        return value
    }

    /// Reads an option into `buffer` and returns how many bytes libzmq wrote.
    private func getOption(_ option: Int32, _ name: String, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        let socket = try openHandle(for: "zmq_getsockopt(\(name))")
        var size = buffer.count
        _ = try retryingOnInterrupt("zmq_getsockopt(\(name))") {
            zmq_getsockopt(socket, option, buffer.baseAddress, &size)
        }
        return size
    }
}
