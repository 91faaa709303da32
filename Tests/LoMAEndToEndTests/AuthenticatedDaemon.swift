import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import ZeroMQ

/// A real lomad serving one ipc endpoint and one CURVE tcp endpoint, with a server key pair, a
/// key pair per client name, and a clients file the test writes (and may rewrite and reload).
final class AuthenticatedDaemon {
    struct TenantEntry {
        var name: String
        var clients: [String] = []
        var uids: [UInt32] = []
        var quotaBytes: Int?
    }

    let directory: TemporaryDirectory
    let serverKeys: (publicKey: String, secretKey: String)
    let clientKeys: [String: (publicKey: String, secretKey: String)]
    let clientsFile: URL
    let daemon: DaemonProcess

    /// - Parameter clients: names of the key pairs to make (listed in the file or not).
    init(clients: [String], tenants: [TenantEntry], arguments: [String] = []) throws {
        directory = try TemporaryDirectory("lomad-auth")
        serverKeys = try ZMQCurve.keyPair()
        var keys: [String: (publicKey: String, secretKey: String)] = [:]
        for name in clients { keys[name] = try ZMQCurve.keyPair() }
        clientKeys = keys
        let serverKeyFile = directory.url.appendingPathComponent("server.key")
        try "\(serverKeys.secretKey)\n".write(to: serverKeyFile, atomically: true, encoding: .utf8)
        clientsFile = directory.url.appendingPathComponent("clients.toml")
        try Self.clientsText(tenants, keys: keys).write(to: clientsFile, atomically: true, encoding: .utf8)
        daemon = try DaemonProcess(
            arguments: ["--model", "m=\(RepositoryPaths.modelFixtures.model("llama_gqa").path)", "--batch-window-ms", "0",
                        "--server-secret-key-file", serverKeyFile.path, "--clients-file", clientsFile.path] + arguments,
            endpoints: ["ipc://\(directory.path)/lomad.sock", "tcp://127.0.0.1:*"])
    }

    deinit {
        daemon.stop()
        directory.remove()
    }

    var ipcEndpoint: String { daemon.endpoints[0] }
    var tcpEndpoint: String { daemon.endpoints[1] }

    /// Replaces the clients file (the daemon reads it again on SIGHUP).
    func writeClientsFile(_ tenants: [TenantEntry]) throws {
        try Self.clientsText(tenants, keys: clientKeys).write(to: clientsFile, atomically: true, encoding: .utf8)
    }

    private static func clientsText(_ tenants: [TenantEntry], keys clientKeys: [String: (publicKey: String, secretKey: String)]) -> String {
        var text = "# written by AuthenticatedDaemon\n"
        for tenant in tenants {
            text += "\n[tenants.\"\(tenant.name)\"]\n"
            let keys = tenant.clients.compactMap { clientKeys[$0]?.publicKey }.map { "\"\($0)\"" }
            text += "curve_keys = [\(keys.joined(separator: ", "))]\n"
            text += "uids = [\(tenant.uids.map(String.init).joined(separator: ", "))]\n"
            if let quota = tenant.quotaBytes { text += "quota_bytes = \(quota)\n" }
        }
        return text
    }

    /// A client connecting over CURVE with the named key pair.
    func curveClient(_ name: String, timeout: Duration = .seconds(10), retries: Int = 0) throws -> LoMAClient {
        guard let keys = clientKeys[name] else { throw LoMAClientError.malformedReply("no key pair named \(name)") }
        return try LoMAClient(endpoint: try Endpoint(tcpEndpoint), timeout: timeout, retries: retries,
                              curve: try CurveClientKeys(serverPublicKey: serverKeys.publicKey, secretKey: keys.secretKey))
    }

    /// A client on the ipc endpoint, which the kernel identifies by uid.
    func ipcClient(timeout: Duration = .seconds(10)) throws -> LoMAClient {
        try LoMAClient(endpoint: try Endpoint(ipcEndpoint), timeout: timeout, retries: 0)
    }

    /// A plain (no CURVE) client of the tcp endpoint.
    func plainTCPClient(timeout: Duration) throws -> LoMAClient {
        try LoMAClient(endpoint: try Endpoint(tcpEndpoint), timeout: timeout, retries: 0)
    }
}
