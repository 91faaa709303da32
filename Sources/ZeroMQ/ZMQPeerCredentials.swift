/// The credentials of the process at the other end of an `ipc://` connection, which libzmq reads
/// from the kernel (`SO_PEERCRED`) and appends to the connection's peer address as
/// `path:uid:gid:pid`. The peer cannot choose them.
///
/// Only parse the address of a connection known to be ipc: a tcp peer's IPv6 address can have
/// the same shape (`::1:2:3`), so the transport must come from elsewhere (the endpoint's ZAP domain).
public struct ZMQPeerCredentials: Equatable, Sendable {
    public let uid: UInt32
    public let gid: UInt32
    public let pid: Int32

    /// Nil when the address does not end in three numeric fields.
    public init?(ipcPeerAddress address: String) {
        // The path part may itself hold colons, so count from the end.
        let fields = address.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count >= 4,
              let uid = UInt32(fields[fields.count - 3]),
              let gid = UInt32(fields[fields.count - 2]),
              let pid = Int32(fields[fields.count - 1]) else { return nil }
        self.uid = uid
        self.gid = gid
        self.pid = pid
    }
}
