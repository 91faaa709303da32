import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Testing

/// Health replies report the limits in force, the per-request and fairness ones included.
@Suite("health reports the limits in force")
struct HealthLimitsTests {
    @Test("per-request limits as configured; no tenant share while the daemon has one tenant")
    func singleTenant() async throws {
        let daemon = try DaemonProcess(arguments: ["--set", "limits.max_segments_per_request=7",
                                                   "--set", "limits.max_compute_seconds=2.5"])
        defer { daemon.stop() }
        let limits = try await LoMAClient(endpoint: try Endpoint(daemon.endpoint)).health().limits
        #expect(limits.maxSegmentsPerRequest == 7)
        #expect(limits.maxComputeSeconds == 2.5)
        #expect(limits.tenantQueuePercent == 0)
        #expect(limits.maxConnections > 0 && limits.maxReplyBytes > 0)
    }

    @Test("the tenant share once the clients file names a tenant")
    func severalTenants() async throws {
        let setup = try AuthenticatedDaemon(clients: ["alice"], tenants: [.init(name: "alice", clients: ["alice"])],
                                            arguments: ["--set", "limits.tenant_queue_percent=30"])
        #expect(try await setup.ipcClient().health().limits.tenantQueuePercent == 30)
    }
}
