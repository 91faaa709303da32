import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Testing
import ZeroMQ

@Suite("Reliability: overload")
struct ReliabilityOverloadTests {
    /// The fixture model with the most layers, and enough segments per request that one compress
    /// keeps the single worker busy while the broker takes in the whole burst.
    static let model = RepositoryPaths.modelFixtures.model("llama_sharded")
    static let segmentsPerRequest = 384
    static let burst = 12

    @Test("past the queue bound requests get resource_exhausted at once; accepted ones succeed")
    func queueBoundAnswersBusyAtOnce() async throws {
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(Self.model.path)", "--workers", "1", "--queue-depth", "2",
                                                   "--batch-window-ms", "0"])
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(120), retries: 0)
        let geometry = try await ReliabilityModelGeometry.of(client)
        let (keys, values) = geometry.segment(segments: Self.segmentsPerRequest, seed: 3)

        let probe = try WireProbe(endpoint: daemon.endpoint)
        for id in 1...UInt64(Self.burst) {
            try probe.socket.send(try ReliabilityFrames.compress(keys: keys, values: values, id: id).map { ZMQFrame(bytes: $0) })
        }
        var replies: [DecodedMessage<Loma_V1_Reply>] = []
        for _ in 0..<Self.burst {
            replies.append(try #require(try probe.receive(timeout: .seconds(120)), "only \(replies.count) replies; log:\n\(daemon.log)"))
        }

        let codes = replies.map(\.envelope.status.code)
        #expect(Set(replies.map(\.envelope.requestID)) == Set(1...UInt64(Self.burst)))
        #expect(codes.allSatisfy { $0 == .ok || $0 == .resourceExhausted }, "codes: \(codes)")
        let accepted = codes.filter { $0 == .ok }.count
        // One request runs and at most queue-depth (2) wait; everything else is refused.
        #expect((1...3).contains(accepted), "codes: \(codes)")
        #expect(replies.filter { $0.envelope.status.code == .resourceExhausted }.allSatisfy { $0.envelope.status.message.contains("busy") })
        // Refusals come back before any accepted request finishes: nothing waited for a worker.
        let lastRefusal = try #require(codes.lastIndex(of: .resourceExhausted))
        let firstSuccess = try #require(codes.firstIndex(of: .ok))
        #expect(lastRefusal < firstSuccess, "codes in arrival order: \(codes)")

        #expect(try probe.stillServes())
        let (small, smallValues) = geometry.segment(seed: 4)
        let memory = try await client.compress(keys: small, values: smallValues, options: CompressOptions(model: "m"))
        #expect(memory.segments == 1)
        #expect(daemon.process.isRunning)
    }
}
