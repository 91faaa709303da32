import Foundation
import LoMAClient
import LoMAProtocol
import LoMAStore
import LoMATestSupport
import Testing
import ZeroMQ

/// A peer that writes its own ZMTP handshake can claim any `User-Id` (and any other property):
/// libzmq takes it as the connection's user id whenever no authentication handler set one. These
/// attacks run a hand-written ZMTP client against a real lomad and check the claim buys nothing.
@Suite("Tenant spoofing through handshake metadata")
struct TenantSpoofingTests {
    /// The handshake properties of a DEALER that claims to be `tenant`, and claims a peer address
    /// carrying uid 0 for good measure.
    private static func spoofedHandshake(as tenant: String) -> [(String, String)] {
        [("Socket-Type", "DEALER"), ("Identity", ""), ("User-Id", tenant), ("Peer-Address", ":0:0:1")]
    }

    /// Sends `request` over `connection` and returns the decoded reply.
    private func exchange(_ connection: RawZMTPConnection, _ request: Loma_V1_Request) throws -> Loma_V1_Reply {
        try connection.send([try request.serializedBytes()])
        let frames = try connection.receive()
        let reply = try DecodedMessage<Loma_V1_Reply>(frames: frames.map { ZMQFrame(bytes: $0) }, limits: ProtocolLimits(maxFrameBytes: 1 << 30, maxFrames: 64))
        return reply.envelope
    }

    private func health(_ id: UInt64) -> Loma_V1_Request {
        var request = Loma_V1_Request()
        request.requestID = id
        request.health = Loma_V1_HealthRequest()
        return request
    }

    @Test("On ipc, a claimed User-Id of a CURVE tenant gets the peer's own (uid) tenant, and none of that tenant's data")
    func ipcClaimIsIgnored() async throws {
        let setup = try AuthenticatedDaemon(clients: ["alice"], tenants: [.init(name: "alice", clients: ["alice"])])
        let alice = try setup.curveClient("alice")
        #expect(try await alice.health().tenant == "alice")
        let geometry = try await ReliabilityModelGeometry.of(alice)
        let (keys, values) = geometry.segment(seed: 3)
        _ = try await alice.compress(keys: keys, values: values, options: CompressOptions(model: "m", sequence: "notes"))

        let spoofer = try RawZMTPConnection(endpoint: setup.ipcEndpoint, properties: Self.spoofedHandshake(as: "alice"))
        let healthReply = try exchange(spoofer, health(1))
        #expect(healthReply.status.code == .ok)
        #expect(healthReply.health.tenant == MemoryStore.defaultTenant)

        var list = Loma_V1_Request()
        list.requestID = 2
        list.listSequences = Loma_V1_ListSequencesRequest()
        let listed = try exchange(spoofer, list)
        #expect(listed.status.code == .ok)
        #expect(listed.listSequences.sequences.isEmpty, "the spoofer lists alice's sequences: \(listed.listSequences.sequences.map(\.name))")

        var read = Loma_V1_Request()
        read.requestID = 3
        read.readMemory.sequence = "notes"
        #expect(try exchange(spoofer, read).status.code == .notFound)
        var delete = Loma_V1_Request()
        delete.requestID = 4
        delete.deleteSequence.sequence = "notes"
        #expect(try exchange(spoofer, delete).status.code == .notFound)
        #expect(try await alice.readMemory(sequence: "notes").sequence.segments == 1)
    }

    @Test("On ipc, a uid the clients file lists keeps its tenant whatever User-Id the peer claims")
    func ipcUIDTenantWins() async throws {
        let setup = try AuthenticatedDaemon(clients: ["alice"], tenants: [
            .init(name: "alice", clients: ["alice"]), .init(name: "ops", uids: [getuid()]),
        ])
        let spoofer = try RawZMTPConnection(endpoint: setup.ipcEndpoint, properties: Self.spoofedHandshake(as: "alice"))
        #expect(try exchange(spoofer, health(1)).health.tenant == "ops")
    }

    @Test("On plain tcp, a claimed User-Id gets the default tenant")
    func plainTCPClaimIsIgnored() async throws {
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(RepositoryPaths.modelFixtures.model("llama_gqa").path)"],
                                       endpoints: ["tcp://127.0.0.1:*"])
        defer { daemon.stop() }
        let spoofer = try RawZMTPConnection(endpoint: daemon.endpoints[0], properties: Self.spoofedHandshake(as: "alice"))
        let reply = try exchange(spoofer, health(1))
        #expect(reply.status.code == .ok)
        #expect(reply.health.tenant == MemoryStore.defaultTenant)
    }

    @Test("The hand-written client is a faithful ZMTP peer: without a claim it is served like any client")
    func rawClientIsServed() async throws {
        let setup = try AuthenticatedDaemon(clients: ["alice"], tenants: [.init(name: "ops", uids: [getuid()])])
        let honest = try RawZMTPConnection(endpoint: setup.ipcEndpoint, properties: [("Socket-Type", "DEALER"), ("Identity", "")])
        let reply = try exchange(honest, health(7))
        #expect(reply.requestID == 7)
        #expect(reply.health.tenant == "ops")
    }
}
