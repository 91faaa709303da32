import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Testing

@Suite("Expired sequences are purged by a real durable lomad")
struct ExpiryPurgeTests {
    @Test("A sequence past its ttl_seconds is purged without its name being written again; its tenant's bytes come back")
    func expiredSequenceIsPurged() async throws {
        let setup = try StoreOperationTests.Setup()
        let storeDirectory = try TemporaryDirectory("lomad-store")
        defer { storeDirectory.remove() }
        let daemon = try DaemonProcess(arguments: [
            "--model", "m=\(setup.fixtureCase.modelDirectory.path)", "--durable", "--store-dir", storeDirectory.path,
            "--set", "store.purge_interval_seconds=0.2",
        ])
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(60), retries: 0)

        _ = try await setup.compress(0, into: "kept", client: client)
        let keptOnly = try await client.stats()
        let (keys, values) = setup.segment(1)
        // The append succeeded, so "short" held segments and bytes of its own; no snapshot of that
        // state is taken, because a loaded machine can starve the daemon past the TTL before one.
        _ = try await client.compress(keys: keys, values: values,
                                      options: CompressOptions(model: "m", sequence: "short", ttlSeconds: 1))

        // Only stats and list from here on: nothing writes "short" again.
        let purged = try await client.stats { $0.store.expiredPurged >= 1 }
        #expect(purged.store.expiredPurged == 1, "\(daemon.log)")
        #expect(purged.store.sequences == 1)
        #expect(purged.tenant.bytes == keptOnly.tenant.bytes, "the tenant's quota bytes come back")
        #expect(purged.store.durableSegments == keptOnly.store.durableSegments, "the segments are gone from LMDB")
        #expect(try await client.listSequences().map(\.name) == ["kept"])
        #expect(ServiceLogLine.lines(of: daemon.log).contains { $0["msg"] == "expired sequences purged" && $0["purged"] == "1" },
                "\(daemon.log)")
    }
}
