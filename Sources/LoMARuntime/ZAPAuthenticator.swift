import Logging
import ZeroMQ

/// The ZeroMQ authentication (ZAP, RFC 27) handler: libzmq asks it about every client
/// connection, since the broker sets a ZAP domain on every endpoint. It decides who the peer is
/// (`ConnectionIdentity`) and hands that to the broker as the connection's sealed user id, which
/// libzmq attaches to each message:
/// - CURVE (tcp): the key exchange proved the client holds the secret key of the public key it
///   presents; keys the clients file lists are admitted as their tenant, any other is refused
///   with 400 before a single request gets through.
/// - NULL on ipc: the peer's uid, which the kernel reports (`SO_PEERCRED`) in the ZAP address.
/// - NULL on tcp: anonymous.
///
/// It must be bound before the first endpoint: without a handler in the context, libzmq admits
/// every CURVE client and lets a plain client's own handshake metadata stand as its user id.
final class ZAPAuthenticator {
    static let endpoint = "inproc://zeromq.zap.01"

    private let socket: ZMQSocket
    private let directory: TenantDirectory
    private let logger: Logger

    /// Binds the handler's socket; call on the thread that then calls `run`.
    init(context: ZMQContext, directory: TenantDirectory, logger: Logger) throws {
        socket = try ZMQSocket(context: context, type: .reply)
        try socket.bind(Self.endpoint)
        self.directory = directory
        self.logger = logger
    }

    /// Answers requests until the context shuts down.
    func run() {
        defer { socket.close() }
        do {
            while let request = try socket.receiveMessage() {
                try socket.send(reply(to: request).map { ZMQFrame(string: $0) })
            }
        } catch let error as ZMQError where error.isTerminated {
        } catch {
            logger.critical("authentication handler stopped; new connections can no longer act as a tenant", metadata: ["error": "\(error)"])
        }
    }

    /// `[version, request id, domain, address, routing id, mechanism, credentials...]` in;
    /// `[version, request id, status code, status text, user id, metadata]` out.
    private func reply(to frames: [ZMQFrame]) -> [String] {
        guard frames.count >= 6, frames[0].string == "1.0" else {
            logger.error("malformed ZAP request; refused", metadata: ["frames": "\(frames.count)"])
            return ["1.0", frames.count > 1 ? frames[1].string : "", "500", "malformed ZAP request", "", ""]
        }
        let requestID = frames[1].string, address = frames[3].string, mechanism = frames[5].string
        func refuse(_ reason: String) -> [String] {
            logger.warning("client refused", metadata: ["address": "\(address)", "mechanism": "\(mechanism)", "reason": "\(reason)"])
            return ["1.0", requestID, "400", reason, "", ""]
        }
        let identity: ConnectionIdentity
        switch (ZAPDomain(rawValue: frames[2].string), mechanism) {
        case (.tcp, "CURVE") where frames.count == 7:
            guard let key = try? ZMQCurve.z85Encode(frames[6].bytes) else { return refuse("malformed CURVE key") }
            guard let tenant = directory.tenant(forCurveKey: key) else {
                return refuse("client key \(key) is not in the clients file")
            }
            identity = .curveTenant(tenant)
        case (.ipc, "NULL"):
            guard let credentials = ZMQPeerCredentials(ipcPeerAddress: address) else {
                return refuse("no peer credentials on an ipc connection")
            }
            identity = .localUser(uid: credentials.uid)
        case (.tcp, "NULL"):
            identity = .anonymous
        default:
            return refuse("lomad does not accept the \(mechanism) mechanism on domain \(frames[2].string)")
        }
        logger.debug("client admitted", metadata: ["address": "\(address)", "identity": "\(identity)"])
        return ["1.0", requestID, "200", "OK", directory.userID(for: identity), ""]
    }
}
