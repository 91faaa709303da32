import Foundation
import Synchronization
@testable import LoMAStore
import Testing

/// Which tier setup a parameterized test runs against.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case memory
    case durable

    var testDescription: String { rawValue }
}

/// A wall clock the test moves, so a TTL passes without waiting for it.
final class TestClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))

    var now: Date { current.withLock { $0 } }

    func advance(by duration: Duration) {
        let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

/// A store in a fresh directory of its own (so tests can run in parallel), removed on `finish`.
/// Its clock is a `TestClock`: tests advance it past a TTL instead of sleeping.
final class TestStore {
    let kind: StoreKind
    let directory: URL
    let clock = TestClock()
    private(set) var store: CompressedMemoryStore
    private var configuration: StoreConfiguration

    init(_ kind: StoreKind, ramBudgetBytes: Int = 64 << 20, mapSizeBytes: Int = 256 << 20,
         quantization: StoreConfiguration.Quantization = .none,
         tenantQuota: StoreConfiguration.TenantQuota? = nil) throws {
        self.kind = kind
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("lomastore-tests-\(UUID().uuidString)", isDirectory: true)
        let mode: StoreConfiguration.Mode = kind == .memory ? .memory : .durable(directory: directory)
        configuration = StoreConfiguration(mode: mode, ramBudgetBytes: ramBudgetBytes, mapSizeBytes: mapSizeBytes,
                                           quantization: quantization, tenantQuota: tenantQuota)
        store = try CompressedMemoryStore(configuration: configuration, clock: { [clock] in clock.now })
    }

    /// Closes the store and opens the same directory again, as a restart of the daemon would.
    func reopen() throws {
        store.close()
        store = try CompressedMemoryStore(configuration: configuration, clock: { [clock] in clock.now })
    }

    func finish() {
        store.close()
        try? FileManager.default.removeItem(at: directory)
    }
}

/// Deterministic pseudo-random numbers (SplitMix64), so test data is the same on every run.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var mixed = state
        mixed = (mixed ^ (mixed >> 30)) &* 0xbf58_476d_1ce4_e5b9
        mixed = (mixed ^ (mixed >> 27)) &* 0x94d0_49bb_1331_11eb
        return mixed ^ (mixed >> 31)
    }

    /// A standard normal sample (Box-Muller).
    mutating func nextGaussian() -> Float {
        let u1 = Double.random(in: Double.ulpOfOne..<1, using: &self)
        let u2 = Double.random(in: 0..<1, using: &self)
        return Float((-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2))
    }
}

enum TestSegments {
    static let shape = MemoryShape(layers: 2, kvHeads: 2, headDim: 8)
    static let model = "tiny-loma"

    /// A memory segment as the memory pass produces one: `tokens` memory tokens standing for
    /// `sourceLength` raw tokens from `sourceStart`, at positions `start + (j+1)·ratio − 1`.
    static func make(sourceStart: Int64, sourceLength: Int = 16, tokens: Int = 4, shape: MemoryShape = shape,
                     seed: UInt64 = 1) throws -> MemorySegment {
        var generator = SeededGenerator(seed: seed &+ UInt64(bitPattern: sourceStart))
        let count = shape.layers * shape.kvHeads * tokens * shape.headDim
        let ratio = Int64(sourceLength / tokens)
        return try MemorySegment(
            keys: (0..<count).map { _ in generator.nextGaussian() },
            values: (0..<count).map { _ in generator.nextGaussian() },
            positions: (0..<Int64(tokens)).map { sourceStart + ($0 + 1) * ratio - 1 },
            shape: shape, tokens: tokens, sourceStart: sourceStart, sourceLength: sourceLength)
    }

    /// `count` consecutive segments starting at `sourceStart`.
    static func run(from sourceStart: Int64, count: Int, sourceLength: Int = 16, seed: UInt64 = 1) throws -> [MemorySegment] {
        try (0..<count).map { try make(sourceStart: sourceStart + Int64($0 * sourceLength), sourceLength: sourceLength, seed: seed) }
    }

    /// Encoded size of one test segment, for sizing budgets.
    static func encodedBytes() throws -> Int {
        SegmentCodec.encode(try make(sourceStart: 0), quantization: .none).count
    }

    /// A client-style chained chunk hash: 32 bytes derived from the parent and the chunk index.
    /// (The store never hashes; any distinct 32-byte values serve.)
    static func chunkHashes(_ count: Int, salt: UInt8 = 0) -> [[UInt8]] {
        var hashes: [[UInt8]] = []
        var parent = [UInt8](repeating: salt, count: 32)
        for index in 0..<count {
            var generator = SeededGenerator(seed: parent.reduce(UInt64(index)) { $0 &* 31 &+ UInt64($1) })
            parent = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            hashes.append(parent)
        }
        return hashes
    }
}

/// Runs `body`, expects it to throw a `StoreError` of `kind` whose message contains `mentions`,
/// and expects the store's digest to be the same afterwards.
func expectRejected(_ kind: StoreError.Kind, mentioning mentions: String, leavingUnchanged store: CompressedMemoryStore,
                    sourceLocation: SourceLocation = #_sourceLocation,
                    _ body: () throws -> Void) throws {
    let before = try store.digest()
    do {
        try body()
        Issue.record("expected a \(kind.rawValue) error mentioning '\(mentions)', but the call succeeded", sourceLocation: sourceLocation)
    } catch let error as StoreError {
        #expect(error.kind == kind, "\(error)", sourceLocation: sourceLocation)
        #expect(error.message.contains(mentions), "\(error)", sourceLocation: sourceLocation)
    } catch {
        Issue.record("expected a StoreError, got \(error)", sourceLocation: sourceLocation)
    }
    #expect(try store.digest() == before, "store changed after a failed call", sourceLocation: sourceLocation)
}
