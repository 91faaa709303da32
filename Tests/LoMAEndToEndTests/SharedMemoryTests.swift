#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Testing

/// The same-host shared-memory path (docs/protocol.md "Shared memory") against real lomad
/// processes: it gives the bytes frames give, falls back to frames where it cannot be used, and
/// every bad segment (missing, another user's, readable by others, a symbolic link, shorter
/// than declared, shrinking mid-request, a huge or overflowing size) is answered with a clear
/// status while the daemon keeps serving.
@Suite("shared memory between same-host clients and a real lomad")
struct SharedMemoryTests {
    private static func client(_ endpoint: String, sharedMemory: Bool = true) throws -> LoMAClient {
        try LoMAClient(endpoint: try Endpoint(endpoint), timeout: .seconds(60), retries: 0, sharedMemory: sharedMemory)
    }

    private static func daemon(_ setup: StoreOperationTests.Setup, _ extra: [String] = [], endpoints: [String]? = nil) throws -> DaemonProcess {
        try DaemonProcess(arguments: ["--model", "m=\(setup.fixtureCase.modelDirectory.path)"] + extra, endpoints: endpoints)
    }

    @Test("compress and read_memory through shared memory give the bytes frames give; tcp keeps frames; segments go with the client")
    func sameBytesAsFrames() async throws {
        let setup = try StoreOperationTests.Setup()
        let scratch = try TemporaryDirectory("shm-same")
        let daemon = try Self.daemon(setup, endpoints: ["ipc://\(scratch.url.path)/d.sock", "tcp://127.0.0.1:*"])
        let options = CompressOptions(model: "m", outputDType: .f32, outputLayout: .headsMajor)
        let frames = try Self.client(daemon.endpoints[0], sharedMemory: false)
        var segments: [String] = []
        do {
            let shared = try Self.client(daemon.endpoints[0])
            let remote = try Self.client(daemon.endpoints[1])
            let viaShared = try await shared.compress(keys: setup.keys, values: setup.values, options: options)
            #expect(shared.usesSharedMemory)
            let viaFrames = try await frames.compress(keys: setup.keys, values: setup.values, options: options)
            let viaTCP = try await remote.compress(keys: setup.keys, values: setup.values, options: options)
            #expect(!frames.usesSharedMemory)
            #expect(!remote.usesSharedMemory)
            #expect(viaShared.keys.bytes == viaFrames.keys.bytes && viaShared.values.bytes == viaFrames.values.bytes)
            #expect(viaTCP.keys.bytes == viaFrames.keys.bytes)
            #expect(viaShared.positions == viaFrames.positions)

            for index in 0..<setup.fixtureCase.description.segments {
                _ = try await setup.compress(index, into: "s", client: frames)
            }
            // Twice: the first read_memory may not fit the reply segment's first size and comes
            // as frames (the reply says how much it needed); the second fits.
            for _ in 0..<2 {
                let read = try #require(try await shared.readMemory(sequence: "s", outputDType: .f32).memory)
                let expected = try #require(try await frames.readMemory(sequence: "s", outputDType: .f32).memory)
                #expect(read.keys.bytes == expected.keys.bytes && read.values.bytes == expected.values.bytes)
            }
            segments = shared.sharedMemorySegments
            #expect(segments.count == 2)
            #expect(segments.allSatisfy { TestSharedMemorySegment.exists($0) })
        }
        // The client's last reference may still be dropped on its queue a moment after the call
        // returned; its segments go with it.
        for _ in 0..<200 where segments.contains(where: TestSharedMemorySegment.exists) {
            try await Task.sleep(for: .milliseconds(10))
        }
        #expect(!segments.contains(where: TestSharedMemorySegment.exists), "the client removes its segments")
    }

    @Test("a daemon with limits.shared_memory_max_bytes 0 gets frames from the same client")
    func fallsBackToFrames() async throws {
        let setup = try StoreOperationTests.Setup()
        let daemon = try Self.daemon(setup, ["--limits-shared-memory-max-bytes", "0"])
        let client = try Self.client(daemon.endpoint)
        let memory = try await client.compress(keys: setup.keys, values: setup.values, options: CompressOptions(model: "m"))
        #expect(memory.segments == setup.fixtureCase.description.segments)
        #expect(!client.usesSharedMemory)
        #expect(try await client.health().limits.sharedMemoryMaxBytes == 0)
    }

    @Test("a client process removes segments that ended processes left behind, never a live process's")
    func staleSegmentsRemoved() async throws {
        let daemon = try DaemonProcess()
        // A pid that ran and ended, and one that runs (this test process's parent).
        let ended = try CommandRun.run(executable: URL(fileURLWithPath: "/bin/sh"), ["-c", "echo $$"])
        let deadPID = try #require(Int32(ended.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        let stale = "/lomad-out-\(deadPID)-stale0", live = "/lomad-in-\(getppid())-live0"
        for name in [stale, live] {
            let descriptor = shm_open(name, O_RDWR | O_CREAT, 0o600)
            try #require(descriptor >= 0)
            close(descriptor)
        }
        defer { shm_unlink(live); shm_unlink(stale) }
        // A fresh client process (lomactl) sweeps before its first segment; the sequence does not
        // exist, but its read_memory request already offered a reply segment.
        let scratch = try TemporaryDirectory("shm-stale")
        let run = try CommandRun.lomactl(["memory", "--endpoint", daemon.endpoint, "--sequence", "missing",
                                          "--output", scratch.url.appendingPathComponent("out.safetensors").path])
        #expect(run.status != 0 && run.stderr.contains("not_found"), "\(run.stderr)")
        #expect(!TestSharedMemorySegment.exists(stale), "a segment of an ended process is removed")
        #expect(TestSharedMemorySegment.exists(live), "a segment of a running process is kept")
    }

    // MARK: raw requests naming bad segments

    /// A compress request whose keys and values lie in `segment` at the given spans.
    private static func compressEnvelope(_ setup: StoreOperationTests.Setup, id: UInt64, segment: String,
                                         spans: [(UInt64, UInt64)], reply: (String, UInt64)? = nil) throws -> [UInt8] {
        var compress = Loma_V1_CompressRequest()
        compress.model = "m"
        compress.segment.keys = LoMAClient.descriptor(for: setup.keys, frame: 1)
        compress.segment.values = LoMAClient.descriptor(for: setup.values, frame: 2)
        var request = Loma_V1_Request()
        request.requestID = id
        request.compress = compress
        request.sharedMemory.inputSegment = segment
        request.sharedMemory.inputFrames = spans.map { offset, length in
            var span = Loma_V1_SharedMemorySpan()
            span.offset = offset
            span.length = length
            return span
        }
        if let (name, capacity) = reply {
            request.sharedMemory.replySegment = name
            request.sharedMemory.replyCapacity = capacity
        }
        return try request.serializedBytes()
    }

    /// The KV of `setup` laid out as a client would: keys at 0, values right after.
    private static func kvSegment(_ setup: StoreOperationTests.Setup, mode: mode_t = 0o600) throws -> (TestSharedMemorySegment, [(UInt64, UInt64)]) {
        let keys = [UInt8](setup.keys.bytes), values = [UInt8](setup.values.bytes)
        let segment = try TestSharedMemorySegment(keys + values, mode: mode)
        return (segment, [(0, UInt64(keys.count)), (UInt64(keys.count), UInt64(values.count))])
    }

    private static func expectStatus(_ probe: WireProbe, _ envelope: [UInt8], _ code: Loma_V1_StatusCode, _ text: String,
                                     sourceLocation: SourceLocation = #_sourceLocation) throws {
        let reply = try #require(try probe.exchange([envelope]), sourceLocation: sourceLocation)
        #expect(reply.envelope.status.code == code, "\(reply.envelope.status.message)", sourceLocation: sourceLocation)
        #expect(reply.envelope.status.message.contains(text), "\(reply.envelope.status.message)", sourceLocation: sourceLocation)
        #expect(try probe.stillServes(), sourceLocation: sourceLocation)
    }

    @Test("bad segments get a clear status and the daemon keeps serving")
    func badSegments() async throws {
        let setup = try StoreOperationTests.Setup()
        let daemon = try Self.daemon(setup, ["--limits-shared-memory-max-bytes", "\(64 << 20)"])
        let probe = try WireProbe(endpoint: daemon.endpoint)
        let (good, spans) = try Self.kvSegment(setup)
        let total = spans[1].0 + spans[1].1

        // The well-formed request, with a reply segment: OK, the memory in the reply segment.
        let reply = try TestSharedMemorySegment([UInt8](repeating: 0, count: 1 << 20))
        let served = try #require(try probe.exchange([Self.compressEnvelope(setup, id: 1, segment: good.name, spans: spans,
                                                                           reply: (reply.name, 1 << 20))]))
        #expect(served.envelope.status.code == .ok, "\(served.envelope.status.message)")
        #expect(served.envelope.sharedMemory.frames.count == 2)

        try Self.expectStatus(probe, Self.compressEnvelope(setup, id: 2, segment: "/lomad-missing-\(getpid())", spans: spans),
                              .notFound, "does not exist")
        try Self.expectStatus(probe, Self.compressEnvelope(setup, id: 3, segment: "/../etc/passwd", spans: spans),
                              .invalidArgument, "is not a lomad shared-memory name")
        try Self.expectStatus(probe, Self.compressEnvelope(setup, id: 4, segment: good.name, spans: [(0, 1 << 40), (0, 8)]),
                              .resourceExhausted, "limits.shared_memory_max_bytes allows")
        try Self.expectStatus(probe, Self.compressEnvelope(setup, id: 5, segment: good.name, spans: [(UInt64.max - 4, 8), (0, 8)]),
                              .invalidArgument, "overflows 64 bits")
        try Self.expectStatus(probe, Self.compressEnvelope(setup, id: 6, segment: good.name, spans: [spans[0], (total, spans[1].1)]),
                              .invalidArgument, "holds \(total) bytes, but the request uses")
        try Self.expectStatus(probe, Self.compressEnvelope(setup, id: 7, segment: good.name, spans: spans, reply: (reply.name, 1 << 40)),
                              .resourceExhausted, "shared_memory.reply_capacity")
        // Descriptors and spans disagree: validated like frames.
        try Self.expectStatus(probe, Self.compressEnvelope(setup, id: 8, segment: good.name, spans: [spans[0], (spans[1].0, spans[1].1 - 4)]),
                              .invalidArgument, "compress.segment.values has shape")

        let (open, openSpans) = try Self.kvSegment(setup, mode: 0o644)
        try Self.expectStatus(probe, Self.compressEnvelope(setup, id: 9, segment: open.name, spans: openSpans),
                              .permissionDenied, "must be private to its owner")

        let linkName = "/lomad-link-\(getpid())"
        try? FileManager.default.removeItem(atPath: "/dev/shm\(linkName)")
        try FileManager.default.createSymbolicLink(atPath: "/dev/shm\(linkName)", withDestinationPath: "/dev/shm\(good.name)")
        defer { try? FileManager.default.removeItem(atPath: "/dev/shm\(linkName)") }
        try Self.expectStatus(probe, Self.compressEnvelope(setup, id: 10, segment: linkName, spans: spans),
                              .permissionDenied, "symbolic link")

        // Tensor frames and shared memory at once.
        let both = try Self.compressEnvelope(setup, id: 11, segment: good.name, spans: spans)
        let mixed = try #require(try probe.exchange([both, [UInt8](setup.keys.bytes), [UInt8](setup.values.bytes)]))
        #expect(mixed.envelope.status.code == .invalidArgument && mixed.envelope.status.message.contains("send one or the other"))
        #expect(try probe.stillServes())
    }

    @Test("a segment of another user is refused (the test gives one to nobody, which needs root)")
    func anotherUsersSegment() async throws {
        // CI runs as root; elsewhere this fails loudly rather than pass without checking anything.
        try #require(getuid() == 0, "this test chowns a segment to another user, which only root can do; run it as root")
        let setup = try StoreOperationTests.Setup()
        let daemon = try Self.daemon(setup)
        let probe = try WireProbe(endpoint: daemon.endpoint)
        let (segment, spans) = try Self.kvSegment(setup)
        try segment.chown(to: 65534)
        try Self.expectStatus(probe, Self.compressEnvelope(setup, id: 1, segment: segment.name, spans: spans),
                              .permissionDenied, "belongs to uid 65534, not to uid 0 of this connection")
        let reply = try TestSharedMemorySegment([UInt8](repeating: 0, count: 1 << 20))
        try reply.chown(to: 65534)
        let (mine, mySpans) = try Self.kvSegment(setup)
        try Self.expectStatus(probe, Self.compressEnvelope(setup, id: 2, segment: mine.name, spans: mySpans, reply: (reply.name, 1 << 20)),
                              .permissionDenied, "shared_memory.reply_segment")
    }

    @Test("shared memory over tcp is refused: a remote client's segments are not on this host")
    func tcpRefused() async throws {
        let setup = try StoreOperationTests.Setup()
        let daemon = try Self.daemon(setup, endpoints: ["tcp://127.0.0.1:*"])
        let probe = try WireProbe(endpoint: daemon.endpoint)
        let (segment, spans) = try Self.kvSegment(setup)
        try Self.expectStatus(probe, Self.compressEnvelope(setup, id: 1, segment: segment.name, spans: spans),
                              .failedPrecondition, "only on ipc:// connections")
    }

    @Test("a client that shrinks its segment mid-request gets a clear error, never a crashed daemon")
    func shrinkingSegment() async throws {
        let setup = try StoreOperationTests.Setup()
        let daemon = try Self.daemon(setup)
        let probe = try WireProbe(endpoint: daemon.endpoint)
        let (segment, spans) = try Self.kvSegment(setup)
        let full = segment.size
        // Another thread truncates the object and grows it back (with zeros) as fast as it can
        // while requests naming it are served; each request finds it whole or short. (The
        // narrower moment, a shrink between the daemon's checks and its read, is driven
        // deterministically by LoMARuntimeTests' SharedMemorySegmentTests.)
        let stop = Atomic(false)
        let flipper = Thread {
            var half = false
            while !stop.load() {
                segment.resize(to: half ? full / 3 : full)
                half.toggle()
            }
            segment.resize(to: full)
        }
        flipper.start()
        var outcomes: [Loma_V1_StatusCode: Int] = [:]

        for id in 1...60 {
            let reply = try #require(try probe.exchange([Self.compressEnvelope(setup, id: UInt64(id), segment: segment.name, spans: spans)]))
            let status = reply.envelope.status
            outcomes[status.code, default: 0] += 1
            if status.code != .ok {
                #expect(status.code == .invalidArgument, "\(status.message)")
                #expect(status.message.contains("shrank while lomad read") || status.message.contains("but the request uses"),
                        "\(status.message)")
            }
        }
        stop.store(true)
        while !flipper.isFinished { try await Task.sleep(for: .milliseconds(5)) }
        #expect((outcomes[.invalidArgument] ?? 0) > 0, "the segment was never seen short: \(outcomes)")
        #expect(try probe.stillServes())
        let after = try #require(try probe.exchange([Self.compressEnvelope(setup, id: 99, segment: segment.name, spans: spans)]))
        #expect(after.envelope.status.code == .ok, "\(after.envelope.status.message)")
        #expect(daemon.log.contains("SIGBUS") == false)
    }

    @Test("a client that removes its segment mid-request gets not_found or its answer; the daemon keeps serving")
    func removedSegment() async throws {
        let setup = try StoreOperationTests.Setup()
        let daemon = try Self.daemon(setup)
        let probe = try WireProbe(endpoint: daemon.endpoint)
        let (segment, spans) = try Self.kvSegment(setup)
        let bytes = [UInt8](setup.keys.bytes) + [UInt8](setup.values.bytes)
        // Another thread unlinks the object and creates it again under the same name while
        // requests naming it are served (the daemon never maps a segment, so a client unmapping
        // its own mapping changes nothing it reads).
        let stop = Atomic(false)
        let remover = Thread {
            while !stop.load() {
                shm_unlink(segment.name)
                let again = shm_open(segment.name, O_RDWR | O_CREAT, 0o600)
                if again >= 0 {
                    _ = fchmod(again, 0o600)
                    _ = bytes.withUnsafeBytes { pwrite(again, $0.baseAddress, $0.count, 0) }
                    close(again)
                }
            }
        }
        remover.start()
        var outcomes: [Loma_V1_StatusCode: Int] = [:]
        for id in 1...60 {
            let reply = try #require(try probe.exchange([Self.compressEnvelope(setup, id: UInt64(id), segment: segment.name, spans: spans)]))
            let status = reply.envelope.status
            outcomes[status.code, default: 0] += 1
            if status.code != .ok {
                // Found missing, or found while it was being written again (shorter than named).
                #expect(status.code == .notFound || status.message.contains("but the request uses")
                        || status.message.contains("shrank while lomad read"), "\(status.code): \(status.message)")
            }
        }
        stop.store(true)
        while !remover.isFinished { try await Task.sleep(for: .milliseconds(5)) }
        let allowed: Set<Loma_V1_StatusCode> = [.ok, .notFound, .invalidArgument]
        #expect(Set(outcomes.keys).isSubset(of: allowed), "\(outcomes)")
        #expect(try probe.stillServes())
    }
}

/// A flag shared with the flipper thread.
private final class Atomic<Value: Sendable>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    init(_ value: Value) { self.value = value }
    func load() -> Value { lock.withLock { value } }
    func store(_ new: Value) { lock.withLock { value = new } }
}
