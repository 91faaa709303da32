import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Testing
import ZeroMQ

/// A DEALER that sends requests and never reads a reply, with room for one unread reply on its
/// side (RCVHWM 1), so the rest wait in the daemon. Closed (linger 0) on `close` or release.
final class NonReadingClient {
    private let context: ZMQContext
    private let socket: ZMQSocket

    init(endpoint: String) throws {
        context = try ZMQContext()
        socket = try ZMQSocket(context: context, type: .dealer)
        try socket.setLinger(0)
        try socket.setReceiveHighWaterMark(1)
        try socket.connect(endpoint)
    }

    func send(_ frames: [[UInt8]], times: Int) throws {
        for _ in 0..<times { try socket.send(frames.map { ZMQFrame(bytes: $0) }) }
    }

    deinit {
        socket.close()
        context.terminate()
    }
}

/// A 7-byte read_memory can ask for a large reply; clients that never read leave replies in
/// libzmq's queues, which only `limits.max_reply_bytes` bounds.
@Suite("Reliability: unread replies")
struct ReliabilityReplyBudgetTests {
    static let model = RepositoryPaths.modelFixtures.model("llama_gqa")
    /// Segments of the sequence every read_memory reads.
    static let segments = 256
    static let nonReaders = 4
    static let requestsPerNonReader = 200
    /// Replies the budget may hold: a few dozen of the large ones.
    static let budget = 8 << 20
    /// RSS may grow by the budget plus this: the workers' replies on their way to the broker,
    /// allocator slack and the request queues. Without the budget the same clients make libzmq
    /// hold up to 100 replies per client (the send high-water mark) plus the socket buffers:
    /// 4 x 100 x the reply size, far above it.
    static let slack = 40 << 20

    @Test("clients that never read hold at most max_reply_bytes of replies; the rest are refused, counted and freed")
    func unreadRepliesStayWithinBudget() async throws {
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(Self.model.path)", "--workers", "2", "--queue-depth", "4096",
                                                   "--batch-window-ms", "0", "--set", "limits.max_reply_bytes=\(Self.budget)",
                                                   "--metrics-listen", "127.0.0.1:0"])
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(120), retries: 0)
        let geometry = try await ReliabilityModelGeometry.of(client)
        let (keys, values) = geometry.segment(segments: Self.segments, seed: 40)
        _ = try await client.compress(keys: keys, values: values, options: CompressOptions(model: "m", sequence: "big"))
        let (memory, _) = try await client.readMemory(sequence: "big")
        let replyBytes = try #require(memory).keys.bytes.count * 2
        #expect(replyBytes * Self.nonReaders * 100 > Self.budget + Self.slack, "replies too small to show anything: \(replyBytes)")

        var request = Loma_V1_ReadMemoryRequest()
        request.sequence = "big"
        let readMemory = [try ReliabilityFrames.envelope(.readMemory(request))]
        let pid = daemon.process.processIdentifier
        let before = try ProcessMemory.of(pid: pid)
        try ProcessMemory.resetPeak(pid: pid)

        var nonReaders = try (0..<Self.nonReaders).map { _ in try NonReadingClient(endpoint: daemon.endpoint) }
        for nonReader in nonReaders { try nonReader.send(readMemory, times: Self.requestsPerNonReader) }
        let answered = Self.nonReaders * Self.requestsPerNonReader
        var stats = try await client.stats()
        var mostHeld: UInt64 = 0
        for _ in 0..<2400 where Self.readMemoryCount(stats) < answered + 1 {
            mostHeld = max(mostHeld, stats.heldReplyBytes)
            try await Task.sleep(for: .milliseconds(50))
            stats = try await client.stats()
        }
        mostHeld = max(mostHeld, stats.heldReplyBytes)
        let during = try ProcessMemory.of(pid: pid)
        print("""
            reply budget: \(Self.nonReaders) non-readers x \(Self.requestsPerNonReader) read_memory of \(replyBytes) bytes; \
            held at most \(mostHeld) of \(Self.budget); refused \(stats.refusedReplies); \
            RSS before \(before), during \(during)
            """)
        #expect(Self.readMemoryCount(stats) >= answered + 1, "not every request was answered: \(stats.operations)")
        #expect(mostHeld <= UInt64(Self.budget))
        // At some point during the run, not necessarily at its end: on a loaded machine the run can
        // outlast the heartbeat timeout (15 s), after which lomad drops the silent non-readers and
        // their replies with them.
        #expect(mostHeld > 0, "the non-readers' replies are not counted")
        #expect(stats.refusedReplies > 0)
        #expect(try ReliabilityConnectionTests.metric(daemon, "lomad_refused_replies_total") == Double(stats.refusedReplies))
        #expect(during.peakResidentBytes - before.residentBytes <= Self.budget + Self.slack, "RSS grew from \(before) to \(during)")

        // Small replies are still answered while the budget is full, and a large one once the
        // non-readers have gone: their replies are dropped and the bytes counted back.
        _ = try await client.health()
        nonReaders.removeAll()
        let after = try await client.stats { $0.heldReplyBytes == 0 }
        #expect(after.heldReplyBytes == 0, "\(after.heldReplyBytes) reply bytes still counted after the non-readers left")
        #expect(try ReliabilityConnectionTests.metric(daemon, "lomad_held_reply_bytes") == 0)
        let (again, _) = try await client.readMemory(sequence: "big")
        #expect(try #require(again).keys.bytes.count * 2 == replyBytes)
        #expect(daemon.process.isRunning)
    }

    static func readMemoryCount(_ stats: Loma_V1_StatsReply) -> Int {
        Int(stats.operations.first { $0.operation == "read_memory" }?.statuses.reduce(0) { $0 + $1.count } ?? 0)
    }

}
