import CLMDB
import CLoMAChecksum
import Foundation
@testable import LoMAStore
import LoMATestSupport
import Testing

/// A durable store with damaged files: truncated or emptied `data.mdb` is refused at open with a
/// message naming the file and sizes (never mapped, never replaced by an empty store), and bit
/// flips in records surface as `dataLoss`, never as wrong bytes.
@Suite("Damaged durable stores")
struct DamagedStoreTests {
    /// Segments big enough (about 4 KiB) to live on LMDB overflow pages, like real memory.
    static let shape = MemoryShape(layers: 2, kvHeads: 2, headDim: 16)

    static func segments(_ count: Int, seed: UInt64) throws -> [MemorySegment] {
        try (0..<count).map { try TestSegments.make(sourceStart: Int64($0 * 32), sourceLength: 32, tokens: 8,
                                                    shape: shape, seed: seed) }
    }

    /// A closed store holding `sequences` sequences of `perSequence` segments (plus a fork and a
    /// prefix), and what each segment must read back as.
    static func buildStore(sequences: Int, perSequence: Int) throws -> (directory: URL, expected: [String: [MemorySegment]]) {
        let directory = try TemporaryDirectory("lomastore-damage").url.appendingPathComponent("store")
        let store = try CompressedMemoryStore(configuration: .init(mode: .durable(directory: directory), mapSizeBytes: 256 << 20))
        defer { store.close() }
        var expected: [String: [MemorySegment]] = [:]
        for index in 0..<sequences {
            let memory = try segments(perSequence, seed: UInt64(index + 1))
            try store.append(sequence: "s\(index)", model: TestSegments.model, segments: memory)
            expected["s\(index)"] = memory
        }
        return (directory, expected)
    }

    static func expectRefused(_ directory: URL, mentioning mentions: [String],
                              sourceLocation: SourceLocation = #_sourceLocation) {
        do {
            let store = try CompressedMemoryStore(configuration: .init(mode: .durable(directory: directory), mapSizeBytes: 256 << 20))
            store.close()
            Issue.record("a damaged store opened", sourceLocation: sourceLocation)
        } catch {
            #expect(error.kind == .dataLoss, "\(error)", sourceLocation: sourceLocation)
            for mention in mentions {
                #expect(error.message.contains(mention), "\(error) should mention \(mention)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("CRC-32C matches the standard check value, and the SSE4.2 and table paths agree")
    func crc32cKnownValues() {
        let check = Array("123456789".utf8)
        #expect(check.withUnsafeBytes { loma_crc32c(0, $0.baseAddress, $0.count) } == 0xE306_9283)
        #expect(check.withUnsafeBytes { loma_crc32c_portable(0, $0.baseAddress, $0.count) } == 0xE306_9283)
        var generator = SeededGenerator(seed: 7)
        let buffer = (0..<4099).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for (start, length) in [(0, 0), (0, 1), (1, 7), (3, 8), (5, 4093), (0, 4099)] {
            buffer[start..<(start + length)].withUnsafeBytes { bytes in
                #expect(loma_crc32c(0, bytes.baseAddress, length) == loma_crc32c_portable(0, bytes.baseAddress, length))
            }
        }
        // Continuing from a previous result equals checksumming the concatenation.
        let whole = buffer.withUnsafeBytes { loma_crc32c(0, $0.baseAddress, $0.count) }
        let split = buffer.withUnsafeBytes { bytes in
            loma_crc32c(loma_crc32c(0, bytes.baseAddress, 100), bytes.baseAddress! + 100, bytes.count - 100)
        }
        #expect(whole == split)
    }

    @Test("A truncated data.mdb (8 KiB, 50%, 90%, a few bytes) is refused at open, naming the file and the sizes, and left as it was",
          arguments: [8192, 50, 90, 100])
    func truncatedDataFileIsRefused(cut: Int) throws {
        let built = try Self.buildStore(sequences: 6, perSequence: 8)
        defer { try? FileManager.default.removeItem(at: built.directory.deletingLastPathComponent()) }
        let original = StoreFileDamage.dataFile(in: built.directory)
        let size = try StoreFileDamage.size(of: original)
        let required = try LMDBDataFile(directory: built.directory).check().requiredBytes
        let target = cut == 8192 ? 8192 : cut == 100 ? 100 : size * cut / 100
        try #require(UInt64(target) < required, "the store must be large enough for the cut to remove used pages")

        let copy = try StoreFileDamage.copy(built.directory)
        defer { try? FileManager.default.removeItem(at: copy.deletingLastPathComponent()) }
        let dataFile = StoreFileDamage.dataFile(in: copy)
        try StoreFileDamage.truncate(dataFile, to: target)
        let before = try Data(contentsOf: dataFile)
        let mentions = target >= 8192 ? [dataFile.path, "truncated", "\(target) bytes", "\(required) bytes"]
                                       : [dataFile.path, "truncated", "\(target) bytes"]
        Self.expectRefused(copy, mentioning: mentions)
        #expect(try Data(contentsOf: dataFile) == before, "the refused open changed data.mdb")
    }

    @Test("An emptied or deleted data.mdb of an existing store is refused, not replaced by an empty store")
    func emptiedDataFileIsRefused() throws {
        let built = try Self.buildStore(sequences: 2, perSequence: 2)
        defer { try? FileManager.default.removeItem(at: built.directory.deletingLastPathComponent()) }
        #expect(FileManager.default.fileExists(atPath: built.directory.appendingPathComponent(StoreManifest.fileName).path))

        let emptied = try StoreFileDamage.copy(built.directory)
        defer { try? FileManager.default.removeItem(at: emptied.deletingLastPathComponent()) }
        try StoreFileDamage.truncate(StoreFileDamage.dataFile(in: emptied), to: 0)
        Self.expectRefused(emptied, mentioning: [StoreFileDamage.dataFile(in: emptied).path, "is empty (0 bytes)", "refusing to start"])
        #expect(try StoreFileDamage.size(of: StoreFileDamage.dataFile(in: emptied)) == 0, "the refused open wrote data.mdb")

        let deleted = try StoreFileDamage.copy(built.directory)
        defer { try? FileManager.default.removeItem(at: deleted.deletingLastPathComponent()) }
        try FileManager.default.removeItem(at: StoreFileDamage.dataFile(in: deleted))
        Self.expectRefused(deleted, mentioning: ["data.mdb is missing", "refusing to start"])
        #expect(!FileManager.default.fileExists(atPath: StoreFileDamage.dataFile(in: deleted).path))

        // A store from before the manifest: its lock file is the evidence.
        let legacy = try StoreFileDamage.copy(built.directory)
        defer { try? FileManager.default.removeItem(at: legacy.deletingLastPathComponent()) }
        try FileManager.default.removeItem(at: legacy.appendingPathComponent(StoreManifest.fileName))
        try StoreFileDamage.truncate(StoreFileDamage.dataFile(in: legacy), to: 0)
        Self.expectRefused(legacy, mentioning: ["is empty (0 bytes)"])
    }

    @Test("A brand-new directory still opens as an empty store and records that a store exists")
    func newDirectoryOpens() throws {
        let harness = try TestStore(.durable)
        defer { harness.finish() }
        #expect(harness.store.statistics.sequences == 0)
        #expect(FileManager.default.fileExists(atPath: harness.directory.appendingPathComponent(StoreManifest.fileName).path))
        try harness.reopen()
        #expect(harness.store.statistics.damagedRecords == 0)
    }

    @Test("Random bit flips after the meta pages: every segment reads back identical or as dataLoss, never wrong",
          arguments: [UInt64(1), 2, 3, 4])
    func bitFlipsAreDetected(seed: UInt64) throws {
        let built = try Self.buildStore(sequences: 24, perSequence: 24)
        defer { try? FileManager.default.removeItem(at: built.directory.deletingLastPathComponent()) }
        let copy = try StoreFileDamage.copy(built.directory)
        defer { try? FileManager.default.removeItem(at: copy.deletingLastPathComponent()) }
        var generator = SeededGenerator(seed: seed)
        let flips = try StoreFileDamage.flipBits(in: StoreFileDamage.dataFile(in: copy), count: 16, using: &generator)

        let store = try CompressedMemoryStore(configuration: .init(mode: .durable(directory: copy), mapSizeBytes: 256 << 20))
        defer { store.close() }
        var identical = 0, lost = 0
        for (name, expected) in built.expected.sorted(by: { $0.key < $1.key }) {
            for (index, segment) in expected.enumerated() {
                do {
                    let read = try store.read(sequence: name, segments: index..<(index + 1))
                    #expect(read == [segment], "\(name) segment \(index) was served with wrong bytes")
                    identical += 1
                } catch {
                    #expect(error.kind == .dataLoss, "\(name) segment \(index): \(error)")
                    lost += 1
                }
            }
        }
        #expect(identical + lost == 24 * 24)
        let fileBytes = try StoreFileDamage.size(of: StoreFileDamage.dataFile(in: copy))
        #expect(lost > 0, "16 flips in \(fileBytes) bytes of mostly segment data should damage some segment")
        #expect(identical > 24 * 24 / 2, "the undamaged rest is still served")
        #expect(store.statistics.damagedReads == lost)
        print("bit flips (seed \(seed)) at \(flips.map { "\($0.offset).\($0.bit)" }.joined(separator: " ")): \(identical) segments identical, \(lost) data_loss, \(store.statistics.damagedRecords) records damaged at open")
    }

    @Test("A checksummed store with a record's checksum gone answers dataLoss for that record")
    func missingChecksumIsDamage() throws {
        let built = try Self.buildStore(sequences: 1, perSequence: 3)
        defer { try? FileManager.default.removeItem(at: built.directory.deletingLastPathComponent()) }
        try Self.withRawEnvironment(built.directory) { transaction, open in
            let checksums = try open("checksums")
            var key = [DurableTier.Table.segments.rawValue] + SegmentID(rawValue: 2).lmdbKey
            try key.withUnsafeMutableBytes { bytes in
                var value = MDB_val(mv_size: bytes.count, mv_data: bytes.baseAddress)
                try #require(mdb_del(transaction, checksums, &value, nil) == 0)
            }
        }
        let store = try CompressedMemoryStore(configuration: .init(mode: .durable(directory: built.directory), mapSizeBytes: 256 << 20))
        defer { store.close() }
        #expect(try store.read(sequence: "s0", segments: 0..<1) == [built.expected["s0"]![0]])
        #expect(throws: StoreError.self) { try store.read(sequence: "s0", segments: 1..<2) }
        do {
            _ = try store.read(sequence: "s0", segments: 1..<2)
        } catch {
            #expect(error.kind == .dataLoss)
            #expect(error.message.contains("segment 2") && error.message.contains("no checksum"), "\(error)")
        }
        #expect(try store.read(sequence: "s0", segments: 2..<3) == [built.expected["s0"]![2]])
    }

    @Test("A store written before checksums (schema 1) opens, reads its records as unverified, and checks new ones")
    func schemaOneStoreReadsUnverified() throws {
        let built = try Self.buildStore(sequences: 2, perSequence: 3)
        defer { try? FileManager.default.removeItem(at: built.directory.deletingLastPathComponent()) }
        // Turn the store into what a build before checksums wrote: no checksums, format 1.
        try Self.withRawEnvironment(built.directory) { transaction, open in
            let checksums = try open("checksums")
            try #require(mdb_drop(transaction, checksums, 1) == 0)
            let meta = try open("meta")
            var key = Array("format".utf8)
            var version = UInt32(1).littleEndian
            try key.withUnsafeMutableBytes { keyBytes in
                try withUnsafeMutableBytes(of: &version) { valueBytes in
                    var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: keyBytes.baseAddress)
                    var dataValue = MDB_val(mv_size: valueBytes.count, mv_data: valueBytes.baseAddress)
                    try #require(mdb_put(transaction, meta, &keyValue, &dataValue, 0) == 0)
                }
            }
        }
        let store = try CompressedMemoryStore(configuration: .init(mode: .durable(directory: built.directory), mapSizeBytes: 256 << 20))
        defer { store.close() }
        #expect(store.statistics.uncheckedRecords == 2)
        #expect(try store.read(sequence: "s0") == built.expected["s0"])
        #expect(store.statistics.unverifiedReads == 3)
        #expect(store.statistics.damagedReads == 0)
        let more = try Self.segments(5, seed: 9).suffix(2)
        let appended = try more.map { segment in
            try MemorySegment(keys: segment.keys, values: segment.values, positions: segment.positions.map { $0 + 1000 },
                              shape: segment.shape, tokens: segment.tokens, sourceStart: segment.sourceStart + 1000,
                              sourceLength: segment.sourceLength)
        }
        try store.append(sequence: "s1", model: TestSegments.model, segments: appended)
        store.close()
        let reopened = try CompressedMemoryStore(configuration: .init(mode: .durable(directory: built.directory), mapSizeBytes: 256 << 20))
        defer { reopened.close() }
        #expect(try reopened.read(sequence: "s1", segments: 3..<5) == appended)
        #expect(reopened.statistics.unverifiedReads == 0, "segments written after the upgrade have checksums")
        #expect(reopened.statistics.uncheckedRecords == 1, "s1's record was rewritten with a checksum; s0's was not")
    }

    @Test("A sequence record failing its checksum at open answers dataLoss by name, is left out of list, and can be deleted")
    func damagedSequenceRecord() throws {
        let built = try Self.buildStore(sequences: 3, perSequence: 2)
        defer { try? FileManager.default.removeItem(at: built.directory.deletingLastPathComponent()) }
        // Damage the record's stored checksum: to the store, the record no longer matches it.
        try Self.withRawEnvironment(built.directory) { transaction, open in
            let checksums = try open("checksums")
            var key = [DurableTier.Table.sequences.rawValue] + SequenceKey(tenant: CompressedMemoryStore.defaultTenant, name: "s1").lmdbKey
            var wrong: [UInt8] = [0xDE, 0xAD, 0xBE, 0xEF]
            try key.withUnsafeMutableBytes { keyBytes in
                try wrong.withUnsafeMutableBytes { valueBytes in
                    var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: keyBytes.baseAddress)
                    var dataValue = MDB_val(mv_size: valueBytes.count, mv_data: valueBytes.baseAddress)
                    try #require(mdb_put(transaction, checksums, &keyValue, &dataValue, 0) == 0)
                }
            }
        }
        var store = try CompressedMemoryStore(configuration: .init(mode: .durable(directory: built.directory), mapSizeBytes: 256 << 20))
        defer { store.close() }
        #expect(store.statistics.damagedRecords == 1)
        for use in ["info", "read", "append", "fork"] {
            do {
                switch use {
                case "info": _ = try store.sequenceInfo(sequence: "s1")
                case "read": _ = try store.read(sequence: "s1")
                case "append": try store.append(sequence: "s1", model: TestSegments.model, segments: Self.segments(1, seed: 5))
                default: try store.fork(source: "s1", destination: "s1-copy")
                }
                Issue.record("\(use) of a damaged sequence succeeded")
            } catch let error as StoreError {
                #expect(error.kind == .dataLoss, "\(use): \(error)")
                #expect(error.message.contains("sequence 's1'") && error.message.contains("damaged"), "\(use): \(error)")
            } catch {
                Issue.record("\(use): expected a StoreError, got \(error)")
            }
        }
        #expect(try store.list().map(\.name) == ["s0", "s2"])
        #expect(try store.read(sequence: "s0") == built.expected["s0"], "the rest is served")
        #expect(store.statistics.damagedReads == 4)
        #expect(store.statistics.durableSegments == 4, "s1's segments are not freed while its record is unreadable")

        try store.delete(sequence: "s1")
        try store.append(sequence: "s1", model: TestSegments.model, segments: Self.segments(1, seed: 5))
        #expect(try store.read(sequence: "s1") == Self.segments(1, seed: 5))
        store.close()
        store = try CompressedMemoryStore(configuration: .init(mode: .durable(directory: built.directory), mapSizeBytes: 256 << 20))
        #expect(store.statistics.damagedRecords == 0)
        #expect(store.statistics.durableSegments == 5, "with no damage left, the old record's segments were freed")
        #expect(try store.read(sequence: "s2") == built.expected["s2"])
    }

    @Test("A segment gone from LMDB answers dataLoss for that segment only, and its id is never handed out again")
    func missingSegment() throws {
        let built = try Self.buildStore(sequences: 2, perSequence: 2)
        defer { try? FileManager.default.removeItem(at: built.directory.deletingLastPathComponent()) }
        // Segment 4, the highest id, is s1's last segment.
        try Self.withRawEnvironment(built.directory) { transaction, open in
            let segments = try open("segments")
            var key = SegmentID(rawValue: 4).lmdbKey
            try key.withUnsafeMutableBytes { bytes in
                var value = MDB_val(mv_size: bytes.count, mv_data: bytes.baseAddress)
                try #require(mdb_del(transaction, segments, &value, nil) == 0)
            }
        }
        let store = try CompressedMemoryStore(configuration: .init(mode: .durable(directory: built.directory), mapSizeBytes: 256 << 20))
        defer { store.close() }
        #expect(store.statistics.damagedRecords == 1)
        #expect(try store.read(sequence: "s1", segments: 0..<1) == [built.expected["s1"]![0]])
        do {
            _ = try store.read(sequence: "s1", segments: 1..<2)
            Issue.record("a missing segment was read")
        } catch {
            #expect(error.kind == .dataLoss && error.message.contains("segment 4 is missing"), "\(error)")
        }
        // A new segment must not take id 4, or s1 would read another sequence's memory.
        let fresh = try Self.segments(1, seed: 77)
        try store.append(sequence: "new", model: TestSegments.model, segments: fresh)
        #expect(throws: StoreError.self) { try store.read(sequence: "s1", segments: 1..<2) }
        #expect(try store.read(sequence: "new") == fresh)
    }

    /// Opens the store's LMDB environment directly (as another tool would) for one write
    /// transaction; `open` opens a named database.
    static func withRawEnvironment(_ directory: URL,
                                   _ body: (OpaquePointer, (String) throws -> MDB_dbi) throws -> Void) throws {
        var environment: OpaquePointer?
        try #require(mdb_env_create(&environment) == 0)
        defer { mdb_env_close(environment) }
        mdb_env_set_maxdbs(environment, 8)
        mdb_env_set_mapsize(environment, 256 << 20)
        try #require(mdb_env_open(environment, directory.path, 0, 0o644) == 0)
        var transaction: OpaquePointer?
        try #require(mdb_txn_begin(environment, nil, 0, &transaction) == 0)
        let handle = try #require(transaction)
        do {
            try body(handle) { name in
                var database: MDB_dbi = 0
                try #require(mdb_dbi_open(handle, name, 0, &database) == 0)
                return database
            }
        } catch {
            mdb_txn_abort(handle)
            throw error
        }
        try #require(mdb_txn_commit(handle) == 0)
    }
}
