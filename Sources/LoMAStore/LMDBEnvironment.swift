import CLMDB
import Foundation

/// An open LMDB environment: one memory-mapped B+tree file (`data.mdb`) plus its lock file.
///
/// Opened with `MDB_NOTLS` because the store's mutex, not a thread, owns each transaction: a
/// read may begin on whichever worker thread holds the lock. The default sync flags are kept, so
/// `mdb_txn_commit` returns only after the data and meta pages reached the disk.
final class LMDBEnvironment {
    private(set) var handle: OpaquePointer?
    let directory: URL
    /// LMDB's page size for this file, read once at open.
    private let pageSize: Int
    /// Where LMDB mapped `data.mdb`, found once at open (LMDB 0.9's API does not say: its
    /// `me_mapaddr` is only the fixed-map address), or nil where `/proc/self/maps` is absent.
    private let mapBase: UnsafeRawPointer?

    init(directory: URL, mapSizeBytes: Int, maxDatabases: Int) throws(StoreError) {
        self.directory = directory
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw .internalError("cannot create store directory \(directory.path): \(error.localizedDescription)")
        }
        var environment: OpaquePointer?
        try LMDBEnvironment.check(mdb_env_create(&environment), "mdb_env_create", directory: directory)
        guard let environment else { throw .internalError("mdb_env_create returned no environment") }
        do {
            try LMDBEnvironment.check(mdb_env_set_maxdbs(environment, MDB_dbi(maxDatabases)), "mdb_env_set_maxdbs", directory: directory)
            try LMDBEnvironment.check(mdb_env_set_mapsize(environment, mapSizeBytes), "mdb_env_set_mapsize(\(mapSizeBytes))", directory: directory)
            try LMDBEnvironment.check(mdb_env_open(environment, directory.path, UInt32(MDB_NOTLS), 0o644),
                                      "mdb_env_open", directory: directory)
            // Clear reader slots left by a process that died mid-read, so they do not pin old pages.
            var dead: Int32 = 0
            try LMDBEnvironment.check(mdb_reader_check(environment, &dead), "mdb_reader_check", directory: directory)
            var stat = MDB_stat()
            try LMDBEnvironment.check(mdb_env_stat(environment, &stat), "mdb_env_stat", directory: directory)
            pageSize = Int(stat.ms_psize)
            mapBase = MappedDataFile.base(of: directory.appendingPathComponent("data.mdb"))
        } catch {
            mdb_env_close(environment)
            throw error
        }
        handle = environment
    }

    deinit { close() }

    func close() {
        if let handle { mdb_env_close(handle) }
        handle = nil
    }

    /// Runs `body` in a read-only transaction that always ends before returning.
    func read<Result>(_ body: (LMDBTransaction) throws(StoreError) -> Result) throws(StoreError) -> Result {
        let transaction = try begin(flags: UInt32(MDB_RDONLY))
        defer { mdb_txn_abort(transaction.handle) }
        return try body(transaction)
    }

    /// Runs `body` in a write transaction and commits it; if `body` or the commit fails, nothing
    /// it wrote is kept. Returning means the commit is durable.
    func write<Result>(_ body: (LMDBTransaction) throws(StoreError) -> Result) throws(StoreError) -> Result {
        let transaction = try begin(flags: 0)
        let result: Result
        do {
            result = try body(transaction)
        } catch {
            mdb_txn_abort(transaction.handle)
            throw error
        }
        // mdb_txn_commit frees the transaction whether or not it succeeds.
        try check(mdb_txn_commit(transaction.handle), "mdb_txn_commit")
        return result
    }

    /// Bytes of the data file in use: pages up to the last one written.
    func usedBytes() -> Int {
        guard let handle else { return 0 }
        var info = MDB_envinfo()
        guard mdb_env_info(handle, &info) == 0 else { return 0 }
        return (info.me_last_pgno + 1) * pageSize
    }

    /// Whether `bytes`, as LMDB returned them in a read transaction, lie in the part of the map
    /// that committed pages of the file back. The open checks make the file at least that long,
    /// so bytes inside it can be read without a fault; a damaged page can make LMDB return a
    /// length or page number that reaches past it, and those bytes must not be touched.
    /// Without a known map base (no `/proc`), only the length is checked against the file.
    func fileBacks(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let handle else { return false }
        var info = MDB_envinfo()
        guard mdb_env_info(handle, &info) == 0 else { return false }
        guard bytes.count > 0 else { return true }
        guard let mapBase else { return bytes.count <= (info.me_last_pgno + 1) * pageSize }
        guard let start = bytes.baseAddress else { return false }
        let offset = start - mapBase
        let (end, overflow) = offset.addingReportingOverflow(bytes.count)
        return offset >= 0 && !overflow && end <= (info.me_last_pgno + 1) * pageSize
    }

    private func begin(flags: UInt32) throws(StoreError) -> LMDBTransaction {
        guard let handle else { throw .failedPrecondition("store at \(directory.path) is closed") }
        try requireFileIntact(handle)
        var transaction: OpaquePointer?
        try check(mdb_txn_begin(handle, nil, flags, &transaction), "mdb_txn_begin")
        guard let transaction else { throw .internalError("mdb_txn_begin returned no transaction") }
        return LMDBTransaction(handle: transaction, directory: directory)
    }

    /// Refuses any transaction once `data.mdb` is shorter than its committed pages, as when it is
    /// truncated while the store is open: LMDB would fault on the first page past the new end
    /// (reads), or write past it and leave a hole of zeros where committed pages were (writes).
    /// One `fstat` per transaction; the open checks cover the file as found at open.
    private func requireFileIntact(_ handle: OpaquePointer) throws(StoreError) {
        var descriptor: mdb_filehandle_t = -1
        var status = stat()
        guard mdb_env_get_fd(handle, &descriptor) == 0, fstat(descriptor, &status) == 0 else { return }
        let required = usedBytes()
        guard Int(status.st_size) >= required else {
            throw .dataLoss("\(directory.path)/data.mdb was truncated while the store was open: it has \(status.st_size) bytes, but its committed pages need \(required); nothing is read or written until it is restored from a backup and lomad restarted")
        }
    }

    func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(StoreError) {
        try LMDBEnvironment.check(code, operation(), directory: directory)
    }

    /// Maps an LMDB result to a store error: a full map or transaction is the caller's
    /// `resourceExhausted`; anything else is an internal failure naming the call and the files.
    static func check(_ code: Int32, _ operation: @autoclosure () -> String, directory: URL) throws(StoreError) {
        guard code != 0 else { return }
        let reason = String(cString: mdb_strerror(code))
        switch code {
        case MDB_MAP_FULL:
            throw .resourceExhausted("durable store at \(directory.path) is full (LMDB map size reached in \(operation())); raise mapSizeBytes or delete sequences")
        case MDB_TXN_FULL:
            throw .resourceExhausted("write too large for one LMDB transaction in \(directory.path) (\(operation()))")
        default:
            throw .internalError("\(operation()) failed for \(directory.path): \(reason) (\(code))")
        }
    }
}
