import Foundation

/// Damages copies of a durable store's `data.mdb` the way disks and operators do: truncation and
/// random bit flips. Always on a copy: the tests compare against the intact original.
public enum StoreFileDamage {
    /// LMDB's two meta pages come first; flips start after them, so the damage lands in the
    /// B-tree and the records, which is what checksums are for (meta damage is refused at open).
    public static let metaPages = 2

    /// Copies the store in `directory` into a fresh temporary directory and returns the copy.
    public static func copy(_ directory: URL, label: String = "lomad-store-copy") throws -> URL {
        let parent = try TemporaryDirectory(label)
        return try parent.copy(directory, as: "store")
    }

    public static func dataFile(in directory: URL) -> URL { directory.appendingPathComponent("data.mdb") }

    public static func size(of file: URL) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: file.path)
        return (attributes[.size] as? NSNumber)?.intValue ?? 0
    }

    public static func truncate(_ file: URL, to size: Int) throws {
        guard Foundation.truncate(file.path, off_t(size)) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }

    /// LMDB's page size, from the first meta page (`mm_dbs[0].md_pad`, 40 bytes in).
    public static func pageSize(of file: URL) throws -> Int {
        let handle = try FileHandle(forReadingFrom: file)
        defer { try? handle.close() }
        let header = try handle.read(upToCount: 44) ?? Data()
        guard header.count == 44 else { throw POSIXError(.EIO) }
        return Int(header.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 40, as: UInt32.self)) })
    }

    /// Flips `count` distinct bits after the meta pages at positions `generator` picks, and
    /// returns them as (byte offset, bit).
    @discardableResult
    public static func flipBits(in file: URL, count: Int,
                                using generator: inout some RandomNumberGenerator) throws -> [(offset: Int, bit: Int)] {
        var bytes = try Data(contentsOf: file)
        let start = metaPages * (try pageSize(of: file))
        guard bytes.count > start else { throw POSIXError(.EINVAL) }
        var flipped: [(offset: Int, bit: Int)] = []
        while flipped.count < count {
            let offset = Int.random(in: start..<bytes.count, using: &generator)
            let bit = Int.random(in: 0..<8, using: &generator)
            guard !flipped.contains(where: { $0 == (offset, bit) }) else { continue }
            bytes[offset] ^= UInt8(1 << bit)
            flipped.append((offset, bit))
        }
        try bytes.write(to: file)
        return flipped
    }
}
