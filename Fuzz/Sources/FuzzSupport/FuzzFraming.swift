/// The byte format the request target reads: a sequence of multipart messages, each a frame
/// count byte, then per frame a little-endian `UInt32` length and that many bytes. Lengths past
/// the end of the input are cut short rather than refused, so mutations of a length still reach
/// the decoder. `encode` is its inverse and writes the seed corpus.
public enum FuzzFraming {
    /// Frame counts are taken modulo this, so counts just past the decoder's limit stay reachable.
    public static let frameCountModulus = 32

    public static func messages(in input: [UInt8]) -> [[ArraySlice<UInt8>]] {
        var reader = FuzzBytes(input)
        var messages: [[ArraySlice<UInt8>]] = []
        while !reader.isAtEnd {
            let count = Int(reader.byte()) % frameCountModulus
            messages.append((0..<count).map { _ in reader.slice(Int(reader.uint32())) })
        }
        return messages
    }

    public static func encode(_ messages: [[[UInt8]]]) -> [UInt8] {
        var output: [UInt8] = []
        for frames in messages {
            precondition(frames.count < frameCountModulus, "a seed message has too many frames for the fuzz framing")
            output.append(UInt8(frames.count))
            for frame in frames {
                let length = UInt32(frame.count)
                output += (0..<4).map { UInt8(truncatingIfNeeded: length >> (8 * UInt32($0))) }
                output += frame
            }
        }
        return output
    }
}
