/// FNV-1a (64-bit) over the store's visible content. Not cryptographic: it only has to tell two
/// states of the same store apart in tests ("unchanged after a failed call", "same after restart"),
/// and it needs no dependency.
struct ContentDigest {
    private var state: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func update(_ bytes: some Sequence<UInt8>) {
        for byte in bytes {
            state = (state ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
    }

    /// Length-prefixes each field so ("ab","c") and ("a","bc") hash differently.
    mutating func update(field bytes: [UInt8]) {
        update(withUnsafeBytes(of: UInt64(bytes.count).littleEndian, Array.init))
        update(bytes)
    }

    var bytes: [UInt8] { withUnsafeBytes(of: state.bigEndian, Array.init) }
}
