import CLMDB
import Foundation

/// The store's schema on LMDB: five named databases in one environment.
///
/// - `segments`: segment id (u64 big-endian) → encoded segment (`SegmentCodec`)
/// - `sequences`: `tenant NUL name` → `SequenceRecord`
/// - `prefixes`: `tenant NUL model NUL hash` → `PrefixEntry`
/// - `checksums`: one tag byte naming the database, then the record's key → CRC-32C of that key
///   and value (`RecordChecksum`), written in the same transaction as the record
/// - `meta`: `format` → schema version, so a future layout change is detected, not misread;
///   `unchecked-records` present when the store predates checksums (schema 1)
///
/// Every record read from LMDB is checked against its checksum before any byte of it is used,
/// so damage on disk surfaces as `dataLoss` naming the record, never as wrong data. Checksums
/// live in their own database so that records keep their schema-1 layout and sizes: a store
/// written before checksums opens unchanged, and its records read as unverified.
final class DurableTier {
    /// 2: every record written has an entry in `checksums`.
    static let schemaVersion: UInt32 = 2
    private static let formatKey = Array("format".utf8)
    private static let uncheckedRecordsKey = Array("unchecked-records".utf8)

    /// Which database a checksum belongs to (the first byte of its key).
    enum Table: UInt8 {
        case segments = 0x73 // "s"
        case sequences = 0x71 // "q"
        case prefixes = 0x70 // "p"
    }

    let environment: LMDBEnvironment
    private let segments: MDB_dbi
    private let sequences: MDB_dbi
    private let prefixes: MDB_dbi
    private let checksums: MDB_dbi
    /// True for a store upgraded from schema 1: a record without a checksum was written before
    /// checksums existed and reads as unverified. False for a store created with checksums, where
    /// a missing checksum can only mean damage.
    let hasUncheckedRecords: Bool

    /// Everything except segment bytes, read once at open to rebuild the RAM catalogue. Records
    /// that fail their checksum are listed instead of loaded, so the rest of the store still opens.
    struct Contents {
        var sequences: [SequenceKey: SequenceRecord] = [:]
        var prefixes: [PrefixKey: PrefixEntry] = [:]
        var segmentSizes: [SegmentID: Int] = [:]
        /// Sequences whose record is damaged, with what is wrong; reads of them answer `dataLoss`.
        var damagedSequences: [SequenceKey: String] = [:]
        /// Records that could not be loaded at all (a damaged prefix entry, a key that no longer
        /// parses), described for the error of a later read and counted in the statistics.
        var damagedRecords: [String] = []
        /// Sequence and prefix records read without a checksum (schema 1 records).
        var uncheckedRecords = 0
    }

    /// Whether a record read back matched its checksum or had none to match (schema 1).
    enum Verification {
        case verified
        case unverified
    }

    init(directory: URL, mapSizeBytes: Int) throws(StoreError) {
        let manifest = StoreManifest(directory: directory)
        let dataFile = LMDBDataFile(directory: directory)
        let existingSize = try dataFile.size()
        if existingSize ?? 0 == 0, manifest.recordsExistingStore {
            let state = existingSize == nil ? "is missing" : "is empty (0 bytes)"
            throw .dataLoss("\(dataFile.url.path) \(state), but \(directory.path) held a store (\(StoreManifest.fileName) or lock.mdb is there); refusing to start with an empty store in place of its data: restore data.mdb from a backup, or move the directory aside to start a new store")
        }
        if existingSize ?? 0 > 0 { _ = try dataFile.check() }
        let environment = try LMDBEnvironment(directory: directory, mapSizeBytes: mapSizeBytes, maxDatabases: 5)
        self.environment = environment
        let opened = try environment.write { (transaction) throws(StoreError) -> (databases: [MDB_dbi], unchecked: Bool) in
            let databases = try ["segments", "sequences", "prefixes", "checksums", "meta"].map { (name) throws(StoreError) in
                try transaction.openDatabase(named: name, create: true)
            }
            let meta = databases[4]
            let stored = try transaction.withValue(meta, key: Self.formatKey) { (bytes) throws(StoreError) -> UInt32 in
                var reader = BinaryReader(bytes, context: "store format record")
                return try reader.read(UInt32.self, field: "version")
            }
            var writer = BinaryWriter()
            writer.write(Self.schemaVersion)
            switch stored {
            case nil:
                try transaction.put(meta, key: Self.formatKey, value: writer.bytes)
            case 1?:
                // Records already there keep their layout and read as unverified; everything
                // written from now on has a checksum. Builds that predate checksums refuse
                // schema 2 rather than write records without them.
                try transaction.put(meta, key: Self.uncheckedRecordsKey, value: [1])
                try transaction.put(meta, key: Self.formatKey, value: writer.bytes)
            case Self.schemaVersion?:
                break
            case let other?:
                throw .internalError("store at \(directory.path) has schema version \(other); this build reads versions 1 and \(Self.schemaVersion)")
            }
            let unchecked = try transaction.withValue(meta, key: Self.uncheckedRecordsKey) { _ in true } ?? false
            return (databases, unchecked)
        }
        (segments, sequences, prefixes, checksums) = (opened.databases[0], opened.databases[1], opened.databases[2],
                                                      opened.databases[3])
        hasUncheckedRecords = opened.unchecked
        try manifest.record()
    }

    func load() throws(StoreError) -> Contents {
        try environment.read { (transaction) throws(StoreError) -> Contents in
            var contents = Contents()
            try transaction.forEach(sequences) { (key, value) throws(StoreError) in
                let keyBytes = Array(key)
                guard let sequenceKey = try? SequenceKey(lmdbKey: key) else {
                    contents.damagedRecords.append("a sequence record whose key (\(keyBytes.count) bytes) is damaged")
                    return
                }
                let context = "sequence '\(sequenceKey.name)' of tenant '\(sequenceKey.tenant)'"
                do throws(StoreError) {
                    let verification = try verify(transaction, .sequences, key: keyBytes, value: value, context: context)
                    if verification == .unverified { contents.uncheckedRecords += 1 }
                    contents.sequences[sequenceKey] = try SequenceRecord(encoded: value, context: context)
                } catch {
                    contents.damagedSequences[sequenceKey] = error.message
                }
            }
            try transaction.forEach(prefixes) { (key, value) throws(StoreError) in
                let keyBytes = Array(key)
                do throws(StoreError) {
                    let prefixKey = try PrefixKey(lmdbKey: key)
                    let verification = try verify(transaction, .prefixes, key: keyBytes, value: value, context: "prefix entry")
                    if verification == .unverified { contents.uncheckedRecords += 1 }
                    contents.prefixes[prefixKey] = try PrefixEntry(encoded: value, context: "prefix entry")
                } catch {
                    contents.damagedRecords.append(error.message)
                }
            }
            try transaction.forEach(segments) { (key, value) throws(StoreError) in
                guard let id = try? SegmentID(lmdbKey: key) else {
                    contents.damagedRecords.append("a segment whose key (\(key.count) bytes) is damaged")
                    return
                }
                contents.segmentSizes[id] = value.count
            }
            return contents
        }
    }

    /// Writes one change in one transaction; returning means it is committed and durable.
    func commit(_ change: StoreChange, freeing freed: [SegmentID]) throws(StoreError) {
        try environment.write { (transaction) throws(StoreError) in
            for (id, bytes) in change.newSegments {
                try put(transaction, .segments, segments, key: id.lmdbKey, value: bytes)
            }
            for key in change.sequenceDeletes {
                try delete(transaction, .sequences, sequences, key: key.lmdbKey)
            }
            for (key, record) in change.sequencePuts {
                try put(transaction, .sequences, sequences, key: key.lmdbKey, value: record.encoded)
            }
            for (key, entry) in change.prefixPuts {
                try put(transaction, .prefixes, prefixes, key: key.lmdbKey, value: entry.encoded)
            }
            for id in freed {
                try delete(transaction, .segments, segments, key: id.lmdbKey)
            }
        }
    }

    /// Copies a segment's encoded bytes out of the map (the map may move once the read ends),
    /// after checking them against their checksum.
    func segmentBytes(_ id: SegmentID) throws(StoreError) -> (bytes: [UInt8], verification: Verification) {
        let context = "segment \(id.rawValue)"
        let key = id.lmdbKey
        let found = try environment.read { (transaction) throws(StoreError) -> ([UInt8], Verification)? in
            try transaction.withValue(segments, key: key) { (value) throws(StoreError) -> ([UInt8], Verification) in
                let verification = try verify(transaction, .segments, key: key, value: value, context: context)
                return (Array(value), verification)
            }
        }
        guard let found else {
            throw .dataLoss("\(context) is missing from \(environment.directory.path)/data.mdb although a sequence or prefix entry refers to it")
        }
        return found
    }

    // MARK: - Checksums

    private func put(_ transaction: LMDBTransaction, _ table: Table, _ database: MDB_dbi, key: [UInt8],
                     value: [UInt8]) throws(StoreError) {
        try transaction.put(database, key: key, value: value)
        try transaction.put(checksums, key: [table.rawValue] + key,
                            value: RecordChecksum.encoded(RecordChecksum.of(key: key, value: value)))
    }

    private func delete(_ transaction: LMDBTransaction, _ table: Table, _ database: MDB_dbi, key: [UInt8]) throws(StoreError) {
        try transaction.delete(database, key: key)
        try transaction.delete(checksums, key: [table.rawValue] + key)
    }

    /// Checks a record LMDB handed back before anything reads its bytes: that it lies inside the
    /// part of the map the file backs (a damaged length or page number could point past the end,
    /// where touching it faults), and that it matches its checksum.
    private func verify(_ transaction: LMDBTransaction, _ table: Table, key: [UInt8], value: UnsafeRawBufferPointer,
                        context: String) throws(StoreError) -> Verification {
        let file = "\(environment.directory.path)/data.mdb"
        guard environment.fileBacks(value) else {
            throw .dataLoss("\(context) in \(file) is damaged: LMDB located its \(value.count) bytes outside the file")
        }
        let stored = try transaction.withValue(checksums, key: [table.rawValue] + key) { (bytes) throws(StoreError) -> UInt32 in
            guard environment.fileBacks(bytes), bytes.count == 4 else {
                throw .dataLoss("the checksum of \(context) in \(file) is damaged (\(bytes.count) bytes, expected 4)")
            }
            return UInt32(littleEndian: bytes.loadUnaligned(as: UInt32.self))
        }
        guard let stored else {
            if hasUncheckedRecords { return .unverified }
            throw .dataLoss("\(context) in \(file) has no checksum; the store was created with checksums, so its record or checksum entry is damaged")
        }
        let computed = RecordChecksum.of(key: key, value: value)
        guard computed == stored else {
            throw .dataLoss("\(context) in \(file) is damaged: its CRC-32C is \(hex(computed)), stored \(hex(stored)); it is not served (restore data.mdb from a backup to recover it)")
        }
        return .verified
    }

    private func hex(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return "0x" + String(repeating: "0", count: 8 - digits.count) + digits
    }
}
