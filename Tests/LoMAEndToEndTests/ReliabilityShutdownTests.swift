import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Testing
import ZeroMQ

/// Shutdown is bounded: at the drain deadline running passes are cancelled between layers and
/// their requests answered UNAVAILABLE, so every client gets a reply and the process exits soon
/// after the drain timeout, well inside systemd's stop timeout. One request's work is bounded too.
@Suite("Reliability: bounded shutdown and per-request limits")
struct ReliabilityShutdownTests {
    /// The fixture model with the most layers.
    static let model = RepositoryPaths.modelFixtures.model("llama_sharded")
    static let drainTimeoutSeconds = 2.0
    /// Exit must come within this multiple of the drain timeout after SIGTERM: the drain, one
    /// layer of each running pass, and process teardown, on a loaded two-core machine. Passes
    /// are sized to run far longer than this, so a daemon that waits for them fails.
    static let exitBoundInDrainTimeouts = 5.0
    /// Passes are sized from a measured one to run at least this long without cancellation.
    static let uncancelledPassSeconds = 120.0
    static let calibrationSegments = 64
    /// Caps the request size (memory: 16,384 segments of this model are 12 MiB per tensor).
    static let maximumSegments = 16_384

    /// Segments one request needs to keep a worker busy for `seconds`, from how long a small one
    /// takes on this machine now. The pass costs more than linearly in segments (attention over
    /// the memory so far), so scaling linearly errs long.
    static func segmentsLasting(seconds: Double, client: LoMAClient, geometry: ReliabilityModelGeometry) async throws -> Int {
        let (keys, values) = geometry.segment(segments: calibrationSegments, seed: 90)
        let started = ContinuousClock.now
        _ = try await client.compress(keys: keys, values: values, options: CompressOptions(model: "m"))
        let elapsed = max((ContinuousClock.now - started) / .seconds(1), 0.001)
        return min(maximumSegments, max(calibrationSegments, Int(Double(calibrationSegments) * seconds / elapsed)))
    }

    @Test("SIGTERM while long compresses run: every request is answered ok or unavailable, exit follows the drain timeout, no partial append")
    func sigtermDuringLongPassesIsBounded() async throws {
        let storeDirectory = try TemporaryDirectory("lomad-shutdown-store")
        defer { storeDirectory.remove() }
        let arguments = ["--model", "m=\(Self.model.path)", "--workers", "2", "--batch-window-ms", "0", "--max-batch", "1",
                         "--drain-timeout", "\(Self.drainTimeoutSeconds)", "--max-segments", "\(Self.maximumSegments)",
                         "--max-compute-seconds", "0", "--durable", "--store-dir", storeDirectory.url.path]
        let daemon = try DaemonProcess(arguments: arguments)
        let monitor = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(60), retries: 0)
        let geometry = try await ReliabilityModelGeometry.of(monitor)
        let segments = try await Self.segmentsLasting(seconds: Self.uncancelledPassSeconds, client: monitor, geometry: geometry)
        let (keys, values) = geometry.segment(segments: segments, seed: 91)

        // Two run (one appending to a sequence), two wait for a worker.
        let probe = try WireProbe(endpoint: daemon.endpoint)
        let requests: [UInt64: String] = [1: "long-1", 2: "", 3: "", 4: "long-4"]
        for id in requests.keys.sorted() {
            let frames = try ReliabilityFrames.compress(keys: keys, values: values, id: id) { $0.sequence = requests[id] ?? "" }
            try probe.socket.send(frames.map { ZMQFrame(bytes: $0) })
        }
        let giveUp = ContinuousClock.now + .seconds(120)
        while true {
            let stats = try await monitor.stats()
            if stats.busyWorkers == 2 && stats.queueDepth == 2 { break }
            try #require(ContinuousClock.now < giveUp, "the requests never all reached the daemon: \(stats)")
            try await Task.sleep(for: .milliseconds(20))
        }

        let terminated = ContinuousClock.now
        daemon.process.terminate()
        var replies: [DecodedMessage<Loma_V1_Reply>] = []
        while replies.count < requests.count,
              let reply = try probe.receive(timeout: .seconds(Self.drainTimeoutSeconds * Self.exitBoundInDrainTimeouts * 2)) {
            replies.append(reply)
        }
        let exitGiveUp = ContinuousClock.now + .seconds(120)
        while daemon.process.isRunning, ContinuousClock.now < exitGiveUp {
            try await Task.sleep(for: .milliseconds(10))
        }
        let exitSeconds = (ContinuousClock.now - terminated) / .seconds(1)
        print("shutdown: \(segments) segments per request; exited \(String(format: "%.2f", exitSeconds)) s after SIGTERM (drain timeout \(Self.drainTimeoutSeconds) s); statuses \(replies.map { "\($0.envelope.requestID):\($0.envelope.status.code.name)" })")

        try #require(!daemon.process.isRunning, "still running 120 s after SIGTERM; log:\n\(daemon.log)")
        #expect(daemon.process.terminationStatus == 0, "log:\n\(daemon.log)")
        #expect(exitSeconds < Self.drainTimeoutSeconds * Self.exitBoundInDrainTimeouts, "log:\n\(daemon.log)")
        #expect(Set(replies.map(\.envelope.requestID)) == Set(requests.keys), "log:\n\(daemon.log)")
        let codes = replies.map(\.envelope.status.code)
        #expect(codes.allSatisfy { $0 == .ok || $0 == .unavailable }, "\(replies.map(\.envelope.status))")
        // The passes were running at the deadline and were cancelled, not waited for.
        let cancelled = replies.filter { $0.envelope.status.code == .unavailable && $0.envelope.status.message.contains("cancelled") }
        #expect(!cancelled.isEmpty, "\(replies.map(\.envelope.status))")

        // A sequence whose request was not answered ok holds nothing of it; one answered ok holds all.
        let restarted = try DaemonProcess(arguments: arguments)
        let client = try LoMAClient(endpoint: try Endpoint(restarted.endpoint), timeout: .seconds(60), retries: 0)
        let stored = Dictionary(uniqueKeysWithValues: try await client.listSequences().map { ($0.name, Int($0.segments)) })
        for reply in replies {
            guard let sequence = requests[reply.envelope.requestID], !sequence.isEmpty else { continue }
            if reply.envelope.status.code == .ok {
                #expect(stored[sequence] == segments, "\(sequence): \(stored)")
            } else {
                #expect(stored[sequence] == nil, "\(sequence) answered \(reply.envelope.status) yet holds \(stored[sequence] ?? 0) segments")
            }
        }
        #expect(restarted.stop() == 0)
    }

    @Test("a compress over limits.max_segments_per_request is refused with the limit named; the daemon keeps serving")
    func segmentLimitRefusesOversizedRequests() async throws {
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(Self.model.path)", "--max-segments", "4"])
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(60), retries: 0)
        let geometry = try await ReliabilityModelGeometry.of(client)
        let (big, bigValues) = geometry.segment(segments: 5, seed: 92)
        await #expect {
            try await client.compress(keys: big, values: bigValues, options: CompressOptions(model: "m", sequence: "s"))
        } throws: { error in
            guard let status = error as? StatusError else { return false }
            return status.code == .resourceExhausted && status.message.contains("5 segments")
                && status.message.contains("limits.max_segments_per_request allows 4")
        }
        #expect(try await client.listSequences().isEmpty)
        let (fits, fitsValues) = geometry.segment(segments: 4, seed: 93)
        #expect(try await client.compress(keys: fits, values: fitsValues, options: CompressOptions(model: "m", sequence: "s")).segments == 4)
        #expect(try await client.listSequences().map(\.segments) == [4])
    }

    @Test("a pass past limits.max_compute_seconds is stopped and answered resource_exhausted; nothing is appended")
    func computeLimitStopsLongPasses() async throws {
        let scratch = try TemporaryDirectory("lomad-compute-limit")
        defer { scratch.remove() }
        let configuration = scratch.url.appendingPathComponent("lomad.toml")
        try "[limits]\nmax_compute_seconds = 0\n".write(to: configuration, atomically: true, encoding: .utf8)
        let daemon = try DaemonProcess(arguments: ["--config", configuration.path, "--model", "m=\(Self.model.path)",
                                                   "--max-segments", "\(Self.maximumSegments)"])
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(120), retries: 0)
        let geometry = try await ReliabilityModelGeometry.of(client)
        let segments = try await Self.segmentsLasting(seconds: Self.uncancelledPassSeconds, client: client, geometry: geometry)
        // Far below what the pass needs, and reloaded (SIGHUP) into the running daemon.
        try "[limits]\nmax_compute_seconds = 0.2\n".write(to: configuration, atomically: true, encoding: .utf8)
        #expect(try daemon.reload(), "log:\n\(daemon.log)")

        let (keys, values) = geometry.segment(segments: segments, seed: 94)
        await #expect {
            try await client.compress(keys: keys, values: values, options: CompressOptions(model: "m", sequence: "long"))
        } throws: { error in
            guard let status = error as? StatusError else { return false }
            return status.code == .resourceExhausted && status.message.contains("limits.max_compute_seconds")
        }
        #expect(try await client.listSequences().isEmpty)
        #expect(try await client.health().models.map(\.name) == ["m"])
        #expect(daemon.process.isRunning)
    }
}
