import LoMAClient
import Testing

/// The Swift client's chunk hashes must be the bytes the Python and C clients compute; the
/// expected values below come from Python's hashlib over the same token ids.
@Suite("Chunk hashes of the Swift client")
struct ChunkHashTests {
    static func hex(_ bytes: [UInt8]) -> String {
        bytes.map { String($0, radix: 16).count == 1 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
    }

    @Test("two chained chunks of four tokens, and a trailing partial chunk without a hash")
    func chained() {
        let hashes = ChunkHash.chain(tokenIDs: Array(1...10), segmentLength: 4)
        #expect(hashes.map(Self.hex) == [
            "d8faa8ec8c0500567ca87b56e4bb666d69cb512e638103891defea24e88cbc92",
            "d1637bc3762f67abb1ac6b35e87c7ddaee8d04b0c3879d2d3afb2f6dc3f6a56a",
        ])
    }

    @Test("ids use all 32 bits, little-endian, and a chunk spans several sha256 blocks")
    func wideIDsAndLongChunk() {
        let tokens: [UInt32] = Array(repeating: [UInt32.max, 7, 100_000, 3], count: 20).flatMap { $0 }
        let hashes = ChunkHash.chain(tokenIDs: tokens, segmentLength: 80)
        #expect(hashes.map(Self.hex) == ["5e06914d728ffc299cf45b7da5eb6c6d1259dd2124a8cb40d1f6ee4d24bbc96f"])
    }

    @Test("fewer tokens than one chunk give no hash")
    func tooShort() {
        #expect(ChunkHash.chain(tokenIDs: [1, 2, 3], segmentLength: 4).isEmpty)
    }
}
