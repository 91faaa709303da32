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

    /// The peer's credentials on an `ipc://` connection, from the kernel-supplied `Peer-Address`.
    /// Only meaningful on a message known to come over ipc (see `ZMQPeerCredentials`).
    public var ipcPeerCredentials: ZMQPeerCredentials? {
        property("Peer-Address").flatMap(ZMQPeerCredentials.init(ipcPeerAddress:))
    }
}
