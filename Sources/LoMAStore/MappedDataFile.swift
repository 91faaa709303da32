import Foundation

/// Finds where a file is memory-mapped in this process, from `/proc/self/maps` (Linux).
///
/// LMDB maps `data.mdb` once when the environment opens and never says where; knowing the base
/// lets the store check that a record LMDB hands back lies inside the file before reading it.
enum MappedDataFile {
    /// The start of the mapping of `url` at file offset 0, matched by inode and name, or nil
    /// when there is no such mapping or no `/proc/self/maps`.
    static func base(of url: URL) -> UnsafeRawPointer? {
        var status = stat()
        guard stat(url.path, &status) == 0,
              let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return nil }
        let inode = String(status.st_ino)
        let name = url.lastPathComponent
        for line in maps.split(separator: "\n") {
            // start-end perms offset dev inode path
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[4] == inode, fields[2].allSatisfy({ $0 == "0" }),
                  fields[5...].joined(separator: " ").hasSuffix("/" + name),
                  let range = fields[0].split(separator: "-").first,
                  let start = UInt(range, radix: 16) else { continue }
            return UnsafeRawPointer(bitPattern: start)
        }
        return nil
    }
}
