import Foundation
import LoMAClient
import LoMAProtocol
import LoMATestSupport
import Synchronization
import Testing

/// What one writer learned about its sequence: the memory of every append the daemon
/// acknowledged, by segment index, and the indices it found stored without an acknowledgement.
struct ReliabilityWriterLedger: Sendable {
    let sequence: String
    var acknowledged: [Int: Data] = [:]
    var storedUnacknowledged: Set<Int> = []
    /// Times the stored segment count was found below the acknowledged count (a lost write).
    var regressions: [String] = []
}

/// Counters the writers and the killer share.
final class ReliabilityCrashProgress: Sendable {
    let acknowledged = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)
}

@Suite("Reliability: crash safety")
struct ReliabilityCrashTests {
    static let model = RepositoryPaths.modelFixtures.model("llama_gqa")
    static let writers = 4
    static let minimumAcknowledged = 1000
    static let minimumKills = 5

    /// The input of segment `index` of `sequence`: the same on every attempt, so a stored segment
    /// can be recomputed from what the sequence holds before it.
    static func input(_ geometry: ReliabilityModelGeometry, sequence: Int, index: Int) -> (keys: TensorPayload, values: TensorPayload) {
        geometry.segment(seed: UInt64(sequence) << 32 | UInt64(index))
    }

    static func memoryBytes(_ memory: CompressedMemory) -> Data { memory.keys.bytes + memory.values.bytes }

    /// Appends one segment at a time to `sequence` until told to stop, through kills and restarts.
    /// Each append names its position, so an append whose acknowledgement was lost but which was
    /// stored makes the next one fail (position behind the end) instead of silently landing twice.
    static func write(sequence: Int, endpoint: Endpoint, geometry: ReliabilityModelGeometry,
                      progress: ReliabilityCrashProgress) async throws -> ReliabilityWriterLedger {
        let name = "crash-\(sequence)"
        var ledger = ReliabilityWriterLedger(sequence: name)
        let client = try LoMAClient(endpoint: endpoint, timeout: .seconds(1), retries: 0)
        var stored = 0
        while !progress.stop.load(ordering: .relaxed) {
            let (keys, values) = input(geometry, sequence: sequence, index: stored)
            do {
                let memory = try await client.compress(keys: keys, values: values, options: CompressOptions(
                    model: "m", sequence: name, position: UInt64(stored * geometry.segmentLength),
                    outputDType: .f32, outputLayout: .headsMajor))
                ledger.acknowledged[stored] = memoryBytes(memory)
                stored += 1
                progress.acknowledged.add(1, ordering: .relaxed)
            } catch {
                if case LoMAClientError.unavailable = error {
                    // Between a kill and the restart nobody listens, and the client says so at
                    // once: wait for the next daemon instead of spinning.
                    try await Task.sleep(for: .milliseconds(50))
                    continue
                }
                // Killed mid-request, or our earlier unacknowledged append was stored: look again.
                guard let info = try? await client.listSequences(namePrefix: name).first(where: { $0.name == name }) else { continue }
                let count = Int(info.segments)
                if count < stored {
                    ledger.regressions.append("after \(error): \(count) segments stored, \(stored) known")
                }
                for index in stored..<max(stored, count) { ledger.storedUnacknowledged.insert(index) }
                stored = count
            }
        }
        return ledger
    }

    /// What a compress of segment `index` appended to the sequence's first `index` segments gives.
    static func recompute(_ geometry: ReliabilityModelGeometry, sequence: Int, index: Int, client: LoMAClient) async throws -> CompressedMemory {
        let name = "crash-\(sequence)"
        var context: (keys: TensorPayload, values: TensorPayload)?
        if index > 0, let before = try await client.readMemory(sequence: name, firstSegment: 0, segmentCount: index,
                                                                 outputDType: .f32, outputLayout: .headsMajor).memory {
            context = (TensorPayload(bytes: before.keys.bytes, dtype: .f32, shape: before.keys.shape),
                       TensorPayload(bytes: before.values.bytes, dtype: .f32, shape: before.values.shape))
        }
        let (keys, values) = input(geometry, sequence: sequence, index: index)
        return try await client.compress(keys: keys, values: values, context: context, options: CompressOptions(
            model: "m", position: UInt64(index * geometry.segmentLength), outputDType: .f32, outputLayout: .headsMajor))
    }

    @Test("SIGKILL during concurrent durable appends loses no acknowledged write and stores no partial one")
    func acknowledgedAppendsSurviveSIGKILL() async throws {
        let storeDir = try TemporaryDirectory("lomad-crash-store")
        let socketDir = try TemporaryDirectory("lomad-crash-socket")
        defer { storeDir.remove(); socketDir.remove() }
        let endpoint = "ipc://\(socketDir.path)/lomad.sock"
        let arguments = ["--model", "m=\(Self.model.path)", "--durable", "--store-dir", storeDir.path, "--batch-window-ms", "0"]
        var daemon = try DaemonProcess(arguments: arguments, endpoints: [endpoint])
        let geometry = try await ReliabilityModelGeometry.of(try LoMAClient(endpoint: try Endpoint(endpoint), timeout: .seconds(30)))

        let progress = ReliabilityCrashProgress()
        let writers = (0..<Self.writers).map { sequence in
            Task { try await Self.write(sequence: sequence, endpoint: try Endpoint(endpoint), geometry: geometry, progress: progress) }
        }
        var kills = 0
        // The loop ends as soon as both minimums are met (about a minute on two idle cores); the
        // give-up only bounds a machine too loaded to reach them, which then fails the test.
        let giveUp = ContinuousClock.now + .seconds(180)
        while (progress.acknowledged.load(ordering: .relaxed) < Self.minimumAcknowledged || kills < Self.minimumKills),
              ContinuousClock.now < giveUp {
            try await Task.sleep(for: .milliseconds(Int.random(in: 400...1000)))
            daemon.killAndWait()
            kills += 1
            daemon = try DaemonProcess(arguments: arguments, endpoints: [endpoint])
        }
        progress.stop.store(true, ordering: .relaxed)
        var ledgers: [ReliabilityWriterLedger] = []
        for writer in writers { ledgers.append(try await writer.value) }
        // One last kill after the writers stopped: the check reads only what survived it.
        daemon.killAndWait()
        daemon = try DaemonProcess(arguments: arguments, endpoints: [endpoint])

        let acknowledged = ledgers.reduce(0) { $0 + $1.acknowledged.count }
        #expect(acknowledged >= Self.minimumAcknowledged, "only \(acknowledged) acknowledged appends in \(kills) kills")
        #expect(kills >= Self.minimumKills)
        let client = try LoMAClient(endpoint: try Endpoint(endpoint), timeout: .seconds(30), retries: 0)
        let listed = Dictionary(uniqueKeysWithValues: try await client.listSequences().map { ($0.name, $0) })
        let ratio = geometry.segmentLength / geometry.memoryTokensPerSegment
        for (sequence, ledger) in ledgers.enumerated() {
            #expect(ledger.regressions.isEmpty, "\(ledger.sequence): \(ledger.regressions)")
            let segments = Int(listed[ledger.sequence]?.segments ?? 0)
            let highestAcknowledged = (ledger.acknowledged.keys.max() ?? -1) + 1
            #expect(segments >= highestAcknowledged, "\(ledger.sequence): \(segments) stored, \(highestAcknowledged) acknowledged")
            for index in 0..<segments {
                let stored = try #require(try await client.readMemory(
                    sequence: ledger.sequence, firstSegment: index, segmentCount: 1, outputDType: .f32, outputLayout: .headsMajor).memory)
                let start = index * geometry.segmentLength
                #expect(stored.positions == (0..<geometry.memoryTokensPerSegment).map { Int64(start + ($0 + 1) * ratio - 1) })
                if let expected = ledger.acknowledged[index] {
                    #expect(Self.memoryBytes(stored) == expected, "\(ledger.sequence) segment \(index) differs from its acknowledgement")
                } else {
                    // Stored but never acknowledged: it must be the whole memory of an attempt.
                    let attempt = try await Self.recompute(geometry, sequence: sequence, index: index, client: client)
                    #expect(Self.memoryBytes(stored) == Self.memoryBytes(attempt),
                            "\(ledger.sequence) segment \(index) (unacknowledged) is not the memory of its attempt")
                }
            }
        }
        print("crash safety: \(acknowledged) acknowledged appends, \(ledgers.reduce(0) { $0 + $1.storedUnacknowledged.count }) stored unacknowledged, \(kills) SIGKILLs")
    }
}
