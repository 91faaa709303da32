import Foundation
import LoMAClient
import LoMAProtocol
import LoMAStore
import LoMATestSupport
import Testing

/// lomad on damaged copies of a real durable store: truncated or emptied `data.mdb` makes it
/// refuse to start with the reason (it used to die of SIGBUS, or start empty and lose everything),
/// and bit-flipped records are answered `data_loss` while the rest is served (they used to be
/// served with wrong bytes).
@Suite("Reliability: damaged store files")
struct ReliabilityDamagedStoreTests {
    static let shape = MemoryShape(layers: 2, kvHeads: 2, headDim: 16)
    static let tokens = 8
    static let sourceLength = 32

    /// Segment `index` of sequence `sequence`: deterministic values, about 4 KiB like a small
    /// real segment (so LMDB keeps it on overflow pages).
    static func segment(sequence: Int, index: Int) throws -> MemorySegment {
        let count = shape.layers * shape.kvHeads * tokens * shape.headDim
        func floats(_ seed: UInt64) -> [Float] {
            ReliabilityPayload.float32Bytes(count: count, seed: seed).withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        let seed = UInt64(sequence * 10_000 + index) * 2
        let start = Int64(index * sourceLength)
        let ratio = Int64(sourceLength / tokens)
        return try MemorySegment(keys: floats(seed), values: floats(seed + 1),
                                 positions: (0..<Int64(tokens)).map { start + ($0 + 1) * ratio - 1 },
                                 shape: shape, tokens: tokens, sourceStart: start, sourceLength: sourceLength)
    }

    /// A durable store as lomad's local clients see it (tenant "local"), written with the store
    /// API and closed: `sequences` × `perSequence` segments.
    static func buildStore(sequences: Int, perSequence: Int) throws -> URL {
        let directory = try TemporaryDirectory("lomad-damage").url.appendingPathComponent("store")
        let store = try MemoryStore(configuration: .init(mode: .durable(directory: directory), mapSizeBytes: 1 << 30))
        defer { store.close() }
        for sequence in 0..<sequences {
            try store.append(tenant: MemoryStore.defaultTenant, sequence: "s\(sequence)", model: "m",
                             segments: (0..<perSequence).map { try segment(sequence: sequence, index: $0) })
        }
        return directory
    }

    static func daemonArguments(_ store: URL) -> [String] {
        ["--durable", "--store-dir", store.path]
    }

    @Test("lomad refuses to start on a truncated or emptied data.mdb, names the file and sizes, and changes nothing",
          arguments: ["0 bytes", "8 KiB", "50%", "90%"])
    func truncatedStoreIsRefused(cut: String) throws {
        let original = try Self.buildStore(sequences: 8, perSequence: 8)
        defer { try? FileManager.default.removeItem(at: original.deletingLastPathComponent()) }
        let copy = try StoreFileDamage.copy(original)
        defer { try? FileManager.default.removeItem(at: copy.deletingLastPathComponent()) }
        let dataFile = StoreFileDamage.dataFile(in: copy)
        let size = try StoreFileDamage.size(of: dataFile)
        let target = switch cut {
        case "0 bytes": 0
        case "8 KiB": 8192
        case "50%": size / 2
        default: size * 9 / 10
        }
        try StoreFileDamage.truncate(dataFile, to: target)
        let before = try Data(contentsOf: dataFile)
        let filesBefore = try FileManager.default.contentsOfDirectory(atPath: copy.path).sorted()

        do {
            let daemon = try DaemonProcess(arguments: Self.daemonArguments(copy))
            daemon.stop()
            Issue.record("lomad started on a data.mdb truncated to \(target) of \(size) bytes")
        } catch DaemonProcessError.exited(let status, let log) {
            #expect(status == 1, "exit status as for other start-up failures\n\(log)")
            #expect(log.contains("lomad could not start"), "\(log)")
            #expect(log.contains(dataFile.path), "the message names the file\n\(log)")
            if target == 0 {
                #expect(log.contains("is empty (0 bytes)") && log.contains("refusing to start with an empty store"), "\(log)")
            } else {
                #expect(log.contains("is truncated") && log.contains("it has \(target) bytes"), "\(log)")
            }
        }
        #expect(try Data(contentsOf: dataFile) == before, "the refused start changed data.mdb")
        #expect(try FileManager.default.contentsOfDirectory(atPath: copy.path).sorted() == filesBefore)
    }

    @Test("data.mdb truncated while lomad runs: reads and writes answer data_loss instead of SIGBUS, lomad keeps serving, a restart is refused")
    func truncatedWhileRunning() async throws {
        let store = try Self.buildStore(sequences: 8, perSequence: 8)
        defer { try? FileManager.default.removeItem(at: store.deletingLastPathComponent()) }
        let daemon = try DaemonProcess(arguments: Self.daemonArguments(store))
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(30), retries: 0)
        #expect(try await client.readMemory(sequence: "s0").memory != nil)
        let dataFile = StoreFileDamage.dataFile(in: store)
        try StoreFileDamage.truncate(dataFile, to: try StoreFileDamage.size(of: dataFile) / 2)

        for sequence in 1..<8 {
            await #expect {
                _ = try await client.readMemory(sequence: "s\(sequence)")
            } throws: { error in
                guard let status = error as? StatusError else { return false }
                return status.code == .dataLoss && status.message.contains("was truncated while the store was open")
            }
        }
        await #expect(throws: StatusError.self) { try await client.deleteSequence("s3") }
        #expect(try await client.health().version.isEmpty == false, "lomad keeps answering")
        #expect(daemon.process.isRunning)
        let truncatedSize = try StoreFileDamage.size(of: dataFile)
        #expect(daemon.stop() == 0)
        #expect(try StoreFileDamage.size(of: dataFile) == truncatedSize, "nothing was written past the cut")

        #expect {
            let restarted = try DaemonProcess(arguments: Self.daemonArguments(store))
            restarted.stop()
        } throws: { error in
            guard case DaemonProcessError.exited(let status, let log) = error else { return false }
            return status == 1 && log.contains("is truncated") && log.contains(dataFile.path)
        }
    }

    @Test("lomad on a bit-flipped copy serves every segment byte-identical or answers data_loss, counts it, and keeps serving")
    func bitFlippedStoreAnswersDataLoss() async throws {
        let sequences = 24, perSequence = 24
        let original = try Self.buildStore(sequences: sequences, perSequence: perSequence)
        defer { try? FileManager.default.removeItem(at: original.deletingLastPathComponent()) }
        let copy = try StoreFileDamage.copy(original)
        defer { try? FileManager.default.removeItem(at: copy.deletingLastPathComponent()) }
        var generator = SplitMix(seed: 12)
        try StoreFileDamage.flipBits(in: StoreFileDamage.dataFile(in: copy), count: 16, using: &generator)

        let daemon = try DaemonProcess(arguments: Self.daemonArguments(copy) + ["--metrics-listen", "127.0.0.1:0"])
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(30), retries: 0)
        var identical = 0, lost = 0
        for sequence in 0..<sequences {
            for index in 0..<perSequence {
                let expected = try Self.segment(sequence: sequence, index: index)
                do {
                    let (memory, _) = try await client.readMemory(sequence: "s\(sequence)", firstSegment: index, segmentCount: 1,
                                                                  outputDType: .f32, outputLayout: .headsMajor)
                    let stored = try #require(memory)
                    let same = stored.keys.bytes == expected.keys.withUnsafeBytes { Data($0) }
                        && stored.values.bytes == expected.values.withUnsafeBytes { Data($0) }
                        && stored.positions == expected.positions
                    #expect(same, "s\(sequence) segment \(index) was served with wrong bytes")
                    identical += 1
                } catch let error as StatusError {
                    #expect(error.code == .dataLoss, "s\(sequence) segment \(index): \(error)")
                    #expect(error.message.contains("damaged") || error.message.contains("missing"), "\(error)")
                    lost += 1
                }
            }
        }
        #expect(identical + lost == sequences * perSequence)
        #expect(lost > 0, "16 flips in mostly segment data should damage some segment")
        #expect(identical > sequences * perSequence / 2)
        let stats = try await client.stats()
        #expect(stats.store.damagedReads == UInt64(lost))
        #expect(stats.store.unverifiedReads == 0)
        let statuses = stats.operations.first { $0.operation == "read_memory" }?.statuses ?? []
        #expect(statuses.first { $0.code == .dataLoss }?.count == UInt64(lost))
        let metrics = try ServiceHTTP.get(port: try Self.metricsPort(daemon), path: "/metrics").body
        #expect(Self.sample(metrics, #"lomad_store_reads_total{result="damaged"}"#) == Double(lost), "\(metrics)")
        #expect(Self.sample(metrics, #"lomad_requests_total{operation="read_memory",status="data_loss"}"#) == Double(lost))
        #expect(daemon.process.isRunning, "lomad keeps serving after answering data_loss")
        print("lomad on a bit-flipped store: \(identical) segments identical, \(lost) data_loss, \(stats.store.damagedRecords) records damaged at open")
    }
}

extension ReliabilityDamagedStoreTests {
    static func metricsPort(_ daemon: DaemonProcess) throws -> UInt16 {
        let line = try #require(ServiceLogLine.lines(of: daemon.log).first { $0["msg"] == "metrics listening" },
                                "no metrics line; log:\n\(daemon.log)")
        return try #require(line["address"]?.split(separator: ":").last.flatMap { UInt16($0) })
    }

    /// The sample value of one series (`name{labels} value`).
    static func sample(_ body: String, _ series: String) -> Double? {
        body.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }
}

/// SplitMix64, so the flipped bits are the same on every run.
private struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xBF58_476D_1CE4_E5B9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94D0_49BB_1331_11EB
        return mixed ^ (mixed >> 31)
    }
}
