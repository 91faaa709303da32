import CLMDB
import Foundation

/// A transaction inside `LMDBEnvironment.read`/`write`. Values handed to closures point into the
/// memory map and are valid only while the closure runs.
struct LMDBTransaction {
    let handle: OpaquePointer
    let directory: URL

    func openDatabase(named name: String, create: Bool) throws(StoreError) -> MDB_dbi {
        var database: MDB_dbi = 0
        try check(mdb_dbi_open(handle, name, create ? UInt32(MDB_CREATE) : 0, &database), "mdb_dbi_open(\(name))")
        return database
    }

    /// Calls `body` with the value stored under `key`, or returns nil when there is none.
    func withValue<Result>(_ database: MDB_dbi, key: [UInt8],
                           _ body: (UnsafeRawBufferPointer) throws(StoreError) -> Result) throws(StoreError) -> Result? {
        var value = MDB_val()
        let code = key.withUnsafeBytes { keyBytes in
            var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_get(handle, database, &keyValue, &value)
        }
        if code == MDB_NOTFOUND { return nil }
        try check(code, "mdb_get")
        return try body(UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
    }

    func put(_ database: MDB_dbi, key: [UInt8], value: [UInt8]) throws(StoreError) {
        let code = key.withUnsafeBytes { keyBytes in
            value.withUnsafeBytes { valueBytes in
                var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
                var dataValue = MDB_val(mv_size: valueBytes.count, mv_data: UnsafeMutableRawPointer(mutating: valueBytes.baseAddress))
                return mdb_put(handle, database, &keyValue, &dataValue, 0)
            }
        }
        try check(code, "mdb_put")
    }

    /// Deletes `key`; a key that is already absent is not an error.
    func delete(_ database: MDB_dbi, key: [UInt8]) throws(StoreError) {
        let code = key.withUnsafeBytes { keyBytes in
            var keyValue = MDB_val(mv_size: keyBytes.count, mv_data: UnsafeMutableRawPointer(mutating: keyBytes.baseAddress))
            return mdb_del(handle, database, &keyValue, nil)
        }
        if code == MDB_NOTFOUND { return }
        try check(code, "mdb_del")
    }

    /// Visits every entry of `database` in key order.
    func forEach(_ database: MDB_dbi,
                 _ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(StoreError) -> Void) throws(StoreError) {
        var cursor: OpaquePointer?
        try check(mdb_cursor_open(handle, database, &cursor), "mdb_cursor_open")
        defer { mdb_cursor_close(cursor) }
        var key = MDB_val()
        var value = MDB_val()
        var code = mdb_cursor_get(cursor, &key, &value, MDB_FIRST)
        while code == 0 {
            try body(UnsafeRawBufferPointer(start: key.mv_data, count: key.mv_size),
                     UnsafeRawBufferPointer(start: value.mv_data, count: value.mv_size))
            code = mdb_cursor_get(cursor, &key, &value, MDB_NEXT)
        }
        if code != MDB_NOTFOUND { try check(code, "mdb_cursor_get") }
    }

    private func check(_ code: Int32, _ operation: @autoclosure () -> String) throws(StoreError) {
        try LMDBEnvironment.check(code, operation(), directory: directory)
    }
}
