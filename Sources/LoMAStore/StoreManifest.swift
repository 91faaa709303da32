import Foundation

/// A small file written next to `data.mdb` once a store exists, so that a missing or empty
/// `data.mdb` later reads as lost data rather than as a new directory. LMDB alone cannot tell:
/// it initialises an empty or absent file as a fresh, empty store, and the daemon would then
/// serve nothing in place of everything it had acknowledged.
///
/// The lock file `lock.mdb` is taken as the same evidence for stores created before the
/// manifest existed: LMDB creates it on every open and lomad never deletes it.
struct StoreManifest {
    static let fileName = "lomad-store"
    private static let contents = """
        lomad store: data.mdb in this directory holds acknowledged data.
        If data.mdb is missing or empty, lomad refuses to start rather than serve an empty store;
        restore data.mdb from a backup, or move this directory aside to start a new store.

        """

    let directory: URL

    var url: URL { directory.appendingPathComponent(Self.fileName) }
    private var lockURL: URL { directory.appendingPathComponent("lock.mdb") }

    /// Whether the directory shows that a store was created here before.
    var recordsExistingStore: Bool {
        FileManager.default.fileExists(atPath: url.path) || FileManager.default.fileExists(atPath: lockURL.path)
    }

    /// Writes the manifest if it is absent: to a temporary name, synced, then renamed, so a crash
    /// leaves either no manifest or a whole one.
    func record() throws(StoreError) {
        guard !FileManager.default.fileExists(atPath: url.path) else { return }
        let temporary = directory.appendingPathComponent(".\(Self.fileName).tmp")
        do {
            try Data(Self.contents.utf8).write(to: temporary)
            let handle = try FileHandle(forWritingTo: temporary)
            try handle.synchronize()
            try handle.close()
            guard rename(temporary.path, url.path) == 0 else {
                throw StoreError.internalError("cannot rename \(temporary.path) to \(url.path): \(String(cString: strerror(errno)))")
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw .internalError("cannot write \(url.path): \(error.localizedDescription)")
        }
        let directoryDescriptor = open(directory.path, O_RDONLY | O_DIRECTORY)
        if directoryDescriptor >= 0 {
            fsync(directoryDescriptor)
            close(directoryDescriptor)
        }
    }
}
