import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Testing

/// RSS after a flood of large compress requests: glibc keeps freed memory in its arenas, so
/// without a trim RSS stayed at the flood's peak; lomad now trims when it goes idle.
@Suite("Reliability: memory returned after a flood")
struct ReliabilityAllocatorTests {
    static let model = RepositoryPaths.modelFixtures.model("llama_gqa")
    static let clients = 24
    static let requestsPerClient = 1
    static let segmentsPerRequest = 512

    @Test("RSS falls back most of the way to its level before a flood once lomad is idle")
    func rssReturnsAfterFlood() async throws {
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(Self.model.path)", "--workers", "2", "--queue-depth", "4096",
                                                   "--batch-window-ms", "0"])
        let endpoint = try Endpoint(daemon.endpoint)
        let client = try LoMAClient(endpoint: endpoint, timeout: .seconds(120), retries: 0)
        let geometry = try await ReliabilityModelGeometry.of(client)
        // Warm-up: the model, the first worker allocations, libzmq's buffers.
        for seed in 0..<4 {
            let (keys, values) = geometry.segment(segments: Self.segmentsPerRequest, seed: UInt64(seed))
            _ = try await client.compress(keys: keys, values: values, options: CompressOptions(model: "m"))
        }
        try await Self.waitUntilIdle(client)
        let pid = daemon.process.processIdentifier
        let before = try ProcessMemory.of(pid: pid)
        try ProcessMemory.resetPeak(pid: pid)

        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<Self.clients {
                group.addTask {
                    let flooding = try LoMAClient(endpoint: endpoint, timeout: .seconds(300), retries: 0)
                    for request in 0..<Self.requestsPerClient {
                        let (keys, values) = geometry.segment(segments: Self.segmentsPerRequest,
                                                              seed: UInt64(100 + index * 10 + request))
                        _ = try await flooding.compress(keys: keys, values: values, options: CompressOptions(model: "m"))
                    }
                }
            }
            try await group.waitForAll()
        }
        try await Self.waitUntilIdle(client)
        let after = try ProcessMemory.of(pid: pid)
        let grew = after.peakResidentBytes - before.residentBytes
        let kept = after.residentBytes - before.residentBytes
        let mib = { (bytes: Int) in String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        print("allocator: RSS before \(mib(before.residentBytes)), peak \(mib(after.peakResidentBytes)), after \(mib(after.residentBytes)) (kept \(mib(kept)) of \(mib(grew)))")
        try #require(grew > 16 << 20, "the flood should have grown RSS by more than 16 MiB to show anything")
        #expect(kept < grew / 3, "RSS after the flood kept \(mib(kept)) of the \(mib(grew)) it grew")
        #expect(daemon.process.isRunning)
    }

    /// Waits (bounded) until nothing is queued or running: the moment lomad trims.
    static func waitUntilIdle(_ client: LoMAClient) async throws {
        for _ in 0..<400 {
            let stats = try await client.stats()
            if stats.busyWorkers == 0 && stats.queueDepth == 0 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        // lomad trims a quarter of a second after it goes idle; give it time to finish.
        try await Task.sleep(for: .seconds(1))
    }
}
