import Logging
import ZeroMQ

/// The ZeroMQ authentication (ZAP, RFC 27) handler: libzmq asks it about every connection to a
/// CURVE endpoint, after the key exchange proved the client holds the secret key of the public
/// key it presents. It admits keys the clients file lists and names the tenant as the
/// connection's user id, which the broker then reads from each message; any other key is refused
/// with 400 before a single request gets through.
///
/// It must be bound before the first CURVE endpoint: without a handler in the context, libzmq
/// admits every CURVE client.
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
            logger.critical("authentication handler stopped; CURVE clients can no longer connect", metadata: ["error": "\(error)"])
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
        guard mechanism == "CURVE", frames.count == 7 else {
            return refuse("lomad authenticates only CURVE clients here")
        }
        guard let key = try? ZMQCurve.z85Encode(frames[6].bytes) else { return refuse("malformed CURVE key") }
        guard let tenant = directory.tenant(forCurveKey: key) else {
            return refuse("client key \(key) is not in the clients file")
        }
        logger.debug("client admitted", metadata: ["address": "\(address)", "tenant": "\(tenant)"])
        return ["1.0", requestID, "200", "OK", tenant, ""]
    }
}
