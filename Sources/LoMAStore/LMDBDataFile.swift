import Foundation

/// Checks a `data.mdb` before LMDB maps it, because LMDB trusts the file: a file shorter than
/// its meta pages say makes the first touch of a missing page a SIGBUS that kills the process,
/// and an empty file is silently initialised as a new, empty store.
///
/// Reads both meta pages the way LMDB 0.9 does (`mdb_env_read_header`): page 0 at offset 0, page 1
/// one page size further, each a page header followed by `MDB_meta`; the valid meta with the
/// higher transaction id is the current state. The file must hold every page up to that meta's
/// `mm_last_pg`, so no page a committed transaction refers to can lie past its end.
struct LMDBDataFile {
    /// What the current meta page says.
    struct Meta: Equatable {
        let pageSize: Int
        let lastPage: UInt64
        let transactionID: UInt64
        let mainRoot: UInt64
        let freeRoot: UInt64

        /// Bytes the file needs to hold every page the meta refers to.
        var requiredBytes: UInt64 { (lastPage + 1) * UInt64(pageSize) }
    }

    // Layout of LMDB 0.9's meta page on a 64-bit host (lmdb.h / mdb.c).
    static let magic: UInt32 = 0xBEEF_C0DE
    static let dataVersion: UInt32 = 1
    private static let pageHeaderBytes = 16
    private static let metaPageFlag: UInt16 = 0x08
    private static let flagsOffset = 10
    private static let magicOffset = pageHeaderBytes
    private static let versionOffset = pageHeaderBytes + 4
    /// `mm_dbs[FREE_DBI].md_pad` holds the page size.
    private static let pageSizeOffset = pageHeaderBytes + 24
    private static let freeRootOffset = pageHeaderBytes + 24 + 40
    private static let mainRootOffset = pageHeaderBytes + 24 + 48 + 40
    private static let lastPageOffset = pageHeaderBytes + 120
    private static let transactionIDOffset = pageHeaderBytes + 128
    private static let metaBytes = pageHeaderBytes + 136
    /// `P_INVALID`: an empty database has no root page.
    private static let noPage = UInt64.max

    let url: URL

    init(directory: URL) {
        url = directory.appendingPathComponent("data.mdb")
    }

    /// The file's size, or nil when it does not exist.
    func size() throws(StoreError) -> UInt64? {
        var status = stat()
        guard stat(url.path, &status) == 0 else {
            if errno == ENOENT { return nil }
            throw .internalError("cannot stat \(url.path): \(String(cString: strerror(errno)))")
        }
        return UInt64(status.st_size)
    }

    /// Checks a non-empty data file and returns its current meta; throws `dataLoss` naming the
    /// file, its size and what it needs when LMDB could not read it without faulting.
    func check() throws(StoreError) -> Meta {
        guard let fileSize = try size() else {
            throw .internalError("\(url.path) does not exist")
        }
        let handle: FileHandle
        do {
            handle = try FileHandle(forReadingFrom: url)
        } catch {
            throw .internalError("cannot open \(url.path) to check it: \(error.localizedDescription)")
        }
        defer { try? handle.close() }
        let first = try readMeta(handle, at: 0, fileSize: fileSize, index: 0)
        let second = try readMeta(handle, at: UInt64(first.pageSize), fileSize: fileSize, index: 1)
        guard second.pageSize == first.pageSize else {
            throw .dataLoss("\(url.path) is damaged: its meta pages disagree on the page size (\(first.pageSize) and \(second.pageSize))")
        }
        let current = second.transactionID > first.transactionID ? second : first
        guard current.lastPage >= 1 else {
            throw .dataLoss("\(url.path) is damaged: its meta page says the last page is \(current.lastPage), before the meta pages themselves")
        }
        for (name, root) in [("main", current.mainRoot), ("free-page", current.freeRoot)]
        where root != Self.noPage && (root < 2 || root > current.lastPage) {
            throw .dataLoss("\(url.path) is damaged: the \(name) database's root is page \(root), outside pages 2...\(current.lastPage)")
        }
        guard fileSize >= current.requiredBytes else {
            throw .dataLoss("\(url.path) is truncated: it has \(fileSize) bytes, but its last committed transaction (\(current.transactionID)) uses pages 0...\(current.lastPage) of \(current.pageSize) bytes, \(current.requiredBytes) bytes; restore it from a backup (lomad will not start on a damaged store)")
        }
        return current
    }

    private func readMeta(_ handle: FileHandle, at offset: UInt64, fileSize: UInt64, index: Int) throws(StoreError) -> Meta {
        guard fileSize >= offset + UInt64(Self.metaBytes) else {
            throw .dataLoss("\(url.path) is truncated: it has \(fileSize) bytes, too few to hold LMDB meta page \(index) (\(offset + UInt64(Self.metaBytes)) bytes needed); restore it from a backup (lomad will not start on a damaged store)")
        }
        let bytes: Data
        do {
            try handle.seek(toOffset: offset)
            bytes = try handle.read(upToCount: Self.metaBytes) ?? Data()
        } catch {
            throw .internalError("cannot read meta page \(index) of \(url.path): \(error.localizedDescription)")
        }
        guard bytes.count == Self.metaBytes else {
            throw .dataLoss("\(url.path) is truncated: meta page \(index) ends after \(bytes.count) bytes")
        }
        func load<Integer: FixedWidthInteger>(_ at: Int, as type: Integer.Type) -> Integer {
            bytes.withUnsafeBytes { Integer(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: Integer.self)) }
        }
        let flags = load(Self.flagsOffset, as: UInt16.self)
        let magic = load(Self.magicOffset, as: UInt32.self)
        let version = load(Self.versionOffset, as: UInt32.self)
        guard flags & Self.metaPageFlag != 0, magic == Self.magic else {
            throw .dataLoss("\(url.path) is not an LMDB data file or its meta page \(index) is damaged (page flags 0x\(String(flags, radix: 16)), magic 0x\(String(magic, radix: 16)), expected 0x\(String(Self.magic, radix: 16)))")
        }
        guard version == Self.dataVersion else {
            throw .dataLoss("\(url.path) meta page \(index) has LMDB data version \(version); this build reads version \(Self.dataVersion)")
        }
        let pageSize = Int(load(Self.pageSizeOffset, as: UInt32.self))
        guard pageSize >= 512, pageSize <= 1 << 16, pageSize & (pageSize - 1) == 0 else {
            throw .dataLoss("\(url.path) meta page \(index) is damaged: page size \(pageSize) is not a power of two between 512 and 65536")
        }
        return Meta(pageSize: pageSize, lastPage: load(Self.lastPageOffset, as: UInt64.self),
                    transactionID: load(Self.transactionIDOffset, as: UInt64.self),
                    mainRoot: load(Self.mainRootOffset, as: UInt64.self), freeRoot: load(Self.freeRootOffset, as: UInt64.self))
    }
}
