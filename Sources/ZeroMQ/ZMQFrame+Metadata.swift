import CZeroMQ

extension ZMQFrame {
    /// A metadata property libzmq attached to a received frame, or nil when it has none.
    ///
    /// The ones the daemon relies on: `User-Id`, the user id an authentication (ZAP) handler
    /// gave the connection; `Peer-Address`, which on `ipc://` is `host:uid:gid:pid` taken from the
    /// kernel (`SO_PEERCRED`), so the peer cannot choose it.
    public func property(_ name: String) -> String? {
        guard let value = zmq_msg_gets(message, name) else { return nil }
        return String(cString: value)
    }

    /// The peer's user id on an `ipc://` connection, from the kernel-supplied `Peer-Address`;
    /// nil on other transports.
    public var peerUID: UInt32? {
        guard let address = property("Peer-Address") else { return nil }
        // host:uid:gid:pid; the host part may itself hold colons, so count from the end.
        let fields = address.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count >= 4 else { return nil }
        return UInt32(fields[fields.count - 3])
    }
}
