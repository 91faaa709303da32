import Foundation
import LoMAClient
import LoMAProtocol
import LoMAStore
import LoMATestSupport
import Testing
import ZeroMQ

@Suite("Authentication: CURVE on tcp, ZAP allow-list, tenants by uid on ipc")
struct AuthenticationTests {
    @Test("An admitted CURVE key acts as its tenant; an unknown key and a plain-text client get nothing through")
    func curveAllowList() async throws {
        let setup = try AuthenticatedDaemon(clients: ["alice", "eve"], tenants: [.init(name: "alice", clients: ["alice"])])
        let alice = try setup.curveClient("alice")
        #expect(try await alice.health().tenant == "alice")

        let eve = try setup.curveClient("eve", timeout: .seconds(2))
        let refusal = try await #require(throws: LoMAClientError.self) { try await eve.health() }
        guard case .refused(_, let reason) = refusal else {
            Issue.record("expected a refusal, got \(refusal)")
            return
        }
        #expect(reason.contains("clients file"))
        #expect(ServiceLogLine.lines(of: setup.daemon.log).contains {
            $0["msg"] == "client refused" && $0["reason"]?.contains(setup.clientKeys["eve"]?.publicKey ?? "?") == true
        })

        let plain = try setup.plainTCPClient(timeout: .seconds(2))
        await #expect(throws: LoMAClientError.self) { try await plain.health() }

        // Neither refused client's request reached the broker: alice's stats count only her own.
        let stats = try await alice.stats()
        let healthCount = stats.operations.first { $0.operation == "health" }?.statuses.reduce(0) { $0 + $1.count }
        #expect(healthCount == 1, "\(stats.operations)")
        #expect(stats.tenant.name == "alice")
    }

    @Test("A wrong server key is reported as a failed handshake, not as a missing daemon")
    func wrongServerKey() async throws {
        let setup = try AuthenticatedDaemon(clients: ["alice"], tenants: [.init(name: "alice", clients: ["alice"])])
        let keys = try #require(setup.clientKeys["alice"])
        let client = try LoMAClient(endpoint: try Endpoint(setup.tcpEndpoint), timeout: .seconds(2), retries: 0,
                                    curve: try CurveClientKeys(serverPublicKey: try ZMQCurve.keyPair().publicKey, secretKey: keys.secretKey))
        let error = try await #require(throws: LoMAClientError.self) { try await client.health() }
        // libzmq reports a refusal or a cut handshake; either way not "no daemon".
        #expect("\(error)".contains("refused") || "\(error)".contains("closed the connection during the handshake"), "\(error)")
        #expect(try await setup.curveClient("alice").health().tenant == "alice")
    }

    @Test("ipc clients act as the tenant of their uid where the clients file lists it, else as the default tenant")
    func ipcTenantByUID() async throws {
        let setup = try AuthenticatedDaemon(clients: ["alice"], tenants: [
            .init(name: "alice", clients: ["alice"]),
            .init(name: "ops", uids: [getuid()]),
        ])
        #expect(try await setup.ipcClient().health().tenant == "ops")

        // SIGHUP: the uid is no longer listed, and alice's key is withdrawn.
        try setup.writeClientsFile([.init(name: "ops", uids: [getuid() &+ 1])])
        #expect(try setup.daemon.reload())
        #expect(try await setup.ipcClient().health().tenant == MemoryStore.defaultTenant)
        let alice = try setup.curveClient("alice", timeout: .seconds(2))
        await #expect(throws: LoMAClientError.self) { try await alice.health() }
    }

    @Test("SIGHUP admits a key added to the clients file; a broken file is refused and the old one kept")
    func reloadAdmitsNewKeys() async throws {
        let setup = try AuthenticatedDaemon(clients: ["alice", "bob"], tenants: [.init(name: "alice", clients: ["alice"])])
        try setup.writeClientsFile([.init(name: "alice", clients: ["alice"]), .init(name: "bob", clients: ["bob"])])
        #expect(try setup.daemon.reload())
        #expect(try await setup.curveClient("bob").health().tenant == "bob")

        try "[tenants.x]\ncurve_keys = [\"not a key\"]\n".write(to: setup.clientsFile, atomically: true, encoding: .utf8)
        #expect(try setup.daemon.reload() == false)
        #expect(ServiceLogLine.lines(of: setup.daemon.log).contains { $0["error"]?.contains("not a 40-character Z85") == true })
        #expect(try await setup.curveClient("bob").health().tenant == "bob")
    }

    @Test("lomactl keygen makes keys that work end to end; an unlisted key exits 5")
    func lomactlKeygen() throws {
        let scratch = try TemporaryDirectory("lomad-keygen")
        defer { scratch.remove() }
        let server = scratch.url.appendingPathComponent("server.key").path
        let client = scratch.url.appendingPathComponent("client.key").path
        let stranger = scratch.url.appendingPathComponent("stranger.key").path
        for path in [server, client, stranger] {
            let run = try CommandRun.lomactl(["keygen", path, "--tenant", "team-a"])
            #expect(run.status == 0, "\(run.stderr)")
        }
        let snippet = try CommandRun.lomactl(["keygen", client])
        #expect(snippet.status != 0 && snippet.stderr.contains("client.key"), "an existing key is never overwritten")

        let clientPublic = try ZMQCurve.readKey(fromFile: client + ".pub")
        let clients = scratch.url.appendingPathComponent("clients.toml")
        try "[tenants.team-a]\ncurve_keys = [\"\(clientPublic)\"]\n".write(to: clients, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(
            arguments: ["--model", "m=\(RepositoryPaths.modelFixtures.model("llama_gqa").path)",
                        "--server-secret-key-file", server, "--clients-file", clients.path],
            endpoints: ["tcp://127.0.0.1:*"])

        let admitted = try CommandRun.lomactl(["health", "--endpoint", daemon.endpoint, "--server-key", server + ".pub", "--client-key", client])
        #expect(admitted.status == 0, "\(admitted.stderr)")
        #expect(admitted.stdout.contains("tenant: team-a"))
        let refused = try CommandRun.lomactl(["health", "--endpoint", daemon.endpoint, "--server-key", server + ".pub",
                                              "--client-key", stranger, "--timeout", "2", "--retries", "0"])
        #expect(refused.status == 5, "\(refused.stdout)\(refused.stderr)")
        #expect(refused.stderr.contains("does not admit this client's CURVE key"))
    }

    @Test("Start-up refuses a server key without a clients file, and a clients file with a bad entry, naming it")
    func startupValidation() throws {
        let scratch = try TemporaryDirectory("lomad-auth-config")
        defer { scratch.remove() }
        let server = scratch.url.appendingPathComponent("server.key").path
        try ZMQCurve.writeKeyPair(toFile: server, comment: "test")
        let model = ["--model", "m=\(RepositoryPaths.modelFixtures.model("llama_gqa").path)"]
        let endpoint = ["--endpoint", "tcp://127.0.0.1:*"]

        let noClients = try CommandRun.lomad(["serve"] + model + endpoint + ["--server-secret-key-file", server])
        #expect(noClients.status != 0)
        #expect(noClients.stderr.contains("auth.clients_file is not"), "\(noClients.stderr)")

        let clients = scratch.url.appendingPathComponent("clients.toml")
        let key = try ZMQCurve.keyPair().publicKey
        try "[tenants.a]\ncurve_keys = [\"\(key)\"]\n[tenants.b]\ncurve_keys = [\"\(key)\"]\n".write(to: clients, atomically: true, encoding: .utf8)
        let duplicate = try CommandRun.lomad(["serve"] + model + endpoint + ["--server-secret-key-file", server, "--clients-file", clients.path])
        #expect(duplicate.status != 0)
        #expect(duplicate.stderr.contains("clients.toml") && duplicate.stderr.contains("listed for both"), "\(duplicate.stderr)")

        let badKeyFile = scratch.url.appendingPathComponent("bad.key").path
        try "nonsense\n".write(toFile: badKeyFile, atomically: true, encoding: .utf8)
        try "[tenants.a]\nuids = [1]\n".write(to: clients, atomically: true, encoding: .utf8)
        let badKey = try CommandRun.lomad(["serve"] + model + endpoint + ["--server-secret-key-file", badKeyFile, "--clients-file", clients.path])
        #expect(badKey.status != 0)
        #expect(badKey.stderr.contains("bad.key"), "\(badKey.stderr)")
    }
}
