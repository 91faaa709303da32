import CLMDB
import Foundation

/// The store's schema on LMDB: four named databases in one environment.
///
/// - `segments`: segment id (u64 big-endian) → encoded segment (`SegmentCodec`)
/// - `sequences`: `tenant NUL name` → `SequenceRecord`
/// - `prefixes`: `tenant NUL model NUL hash` → `PrefixEntry`
/// - `meta`: `format` → schema version, so a future layout change is detected, not misread
final class DurableTier {
    static let schemaVersion: UInt32 = 1
    private static let formatKey = Array("format".utf8)

    let environment: LMDBEnvironment
    private let segments: MDB_dbi
    private let sequences: MDB_dbi
    private let prefixes: MDB_dbi
    private let meta: MDB_dbi

    /// Everything except segment bytes, read once at open to rebuild the RAM catalogue.
    struct Contents {
        var sequences: [SequenceKey: SequenceRecord] = [:]
        var prefixes: [PrefixKey: PrefixEntry] = [:]
        var segmentSizes: [SegmentID: Int] = [:]
    }

    init(directory: URL, mapSizeBytes: Int) throws(StoreError) {
        let environment = try LMDBEnvironment(directory: directory, mapSizeBytes: mapSizeBytes, maxDatabases: 4)
        self.environment = environment
        let databases = try environment.write { (transaction) throws(StoreError) -> [MDB_dbi] in
            let opened = try ["segments", "sequences", "prefixes", "meta"].map { (name) throws(StoreError) in
                try transaction.openDatabase(named: name, create: true)
            }
            let meta = opened[3]
            let stored = try transaction.withValue(meta, key: Self.formatKey) { (bytes) throws(StoreError) -> UInt32 in
                var reader = BinaryReader(bytes, context: "store format record")
                return try reader.read(UInt32.self, field: "version")
            }
            switch stored {
            case nil:
                var writer = BinaryWriter()
                writer.write(Self.schemaVersion)
                try transaction.put(meta, key: Self.formatKey, value: writer.bytes)
            case Self.schemaVersion?:
                break
            case let other?:
                throw .internalError("store at \(directory.path) has schema version \(other); this build reads version \(Self.schemaVersion)")
            }
            return opened
        }
        (segments, sequences, prefixes, meta) = (databases[0], databases[1], databases[2], databases[3])
    }

    func load() throws(StoreError) -> Contents {
        try environment.read { (transaction) throws(StoreError) -> Contents in
            var contents = Contents()
            try transaction.forEach(sequences) { (key, value) throws(StoreError) in
                let sequenceKey = try SequenceKey(lmdbKey: key)
                contents.sequences[sequenceKey] = try SequenceRecord(
                    encoded: value, context: "sequence '\(sequenceKey.name)' of tenant '\(sequenceKey.tenant)'")
            }
            try transaction.forEach(prefixes) { (key, value) throws(StoreError) in
                contents.prefixes[try PrefixKey(lmdbKey: key)] = try PrefixEntry(encoded: value, context: "prefix entry")
            }
            try transaction.forEach(segments) { (key, value) throws(StoreError) in
                contents.segmentSizes[try SegmentID(lmdbKey: key)] = value.count
            }
            return contents
        }
    }

    /// Writes one change in one transaction; returning means it is committed and durable.
    func commit(_ change: StoreChange, freeing freed: [SegmentID]) throws(StoreError) {
        try environment.write { (transaction) throws(StoreError) in
            for (id, bytes) in change.newSegments {
                try transaction.put(segments, key: id.lmdbKey, value: bytes)
            }
            for key in change.sequenceDeletes {
                try transaction.delete(sequences, key: key.lmdbKey)
            }
            for (key, record) in change.sequencePuts {
                try transaction.put(sequences, key: key.lmdbKey, value: record.encoded)
            }
            for (key, entry) in change.prefixPuts {
                try transaction.put(prefixes, key: key.lmdbKey, value: entry.encoded)
            }
            for id in freed {
                try transaction.delete(segments, key: id.lmdbKey)
            }
        }
    }

    /// Copies a segment's encoded bytes out of the map (the map may move once the read ends).
    func segmentBytes(_ id: SegmentID) throws(StoreError) -> [UInt8] {
        let bytes = try environment.read { (transaction) throws(StoreError) -> [UInt8]? in
            try transaction.withValue(segments, key: id.lmdbKey) { Array($0) }
        }
        guard let bytes else {
            throw .internalError("segment \(id.rawValue) is missing from \(environment.directory.path)")
        }
        return bytes
    }
}
