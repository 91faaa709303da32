/// Reads what `BinaryWriter` wrote, refusing truncated or oversized input with a message that
/// names the record being decoded, because on-disk bytes are input too.
struct BinaryReader {
    private let bytes: UnsafeRawBufferPointer
    private var offset = 0
    /// What is being decoded, e.g. "segment 42", for error messages.
    private let context: String

    init(_ bytes: UnsafeRawBufferPointer, context: String) {
        self.bytes = bytes
        self.context = context
    }

    var isAtEnd: Bool { offset == bytes.count }

    mutating func read<Integer: FixedWidthInteger>(_: Integer.Type = Integer.self, field: String) throws(StoreError) -> Integer {
        let size = MemoryLayout<Integer>.size
        try require(size, field: field)
        let value = bytes.loadUnaligned(fromByteOffset: offset, as: Integer.self)
        offset += size
        return Integer(littleEndian: value)
    }

    /// Reads an unsigned count and checks it against `limit` before anything is allocated for it.
    mutating func readCount(field: String, limit: Int) throws(StoreError) -> Int {
        let count = try read(UInt32.self, field: field)
        guard count <= limit else {
            throw .internalError("\(context) is corrupt: \(field) is \(count), above the limit \(limit)")
        }
        return Int(count)
    }

    mutating func readString(field: String) throws(StoreError) -> String {
        let count = try readCount(field: field, limit: bytes.count)
        try require(count, field: field)
        let string = String(decoding: bytes[offset..<(offset + count)], as: UTF8.self)
        offset += count
        return string
    }

    /// Calls `body` with the next `count` bytes, unaligned, and moves past them.
    mutating func readRaw<Result>(count: Int, field: String,
                                  _ body: (UnsafeRawBufferPointer) -> Result) throws(StoreError) -> Result {
        try require(count, field: field)
        let result = body(UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]))
        offset += count
        return result
    }

    mutating func readFloats(count: Int, field: String) throws(StoreError) -> [Float] {
        try readRaw(count: count * 4, field: field) { raw in
            [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                // Byte copy, because stored bytes need not be aligned for Float.
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
                #if !_endian(little)
                for index in 0..<count { buffer[index] = Float(bitPattern: UInt32(littleEndian: buffer[index].bitPattern)) }
                #endif
                initialized = count
            }
        }
    }

    func requireEnd() throws(StoreError) {
        guard isAtEnd else {
            throw .internalError("\(context) is corrupt: \(bytes.count - offset) unexpected trailing bytes")
        }
    }

    private func require(_ count: Int, field: String) throws(StoreError) {
        guard count >= 0, count <= bytes.count - offset else {
            throw .internalError("\(context) is corrupt: \(field) needs \(count) bytes, \(bytes.count - offset) left")
        }
    }
}
