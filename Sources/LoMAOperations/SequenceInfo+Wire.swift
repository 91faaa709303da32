import LoMAProtocol
import LoMAStore

extension SequenceInfo {
    var wire: Loma_V1_SequenceInfo {
        var info = Loma_V1_SequenceInfo()
        info.name = name
        info.model = model
        info.segments = UInt32(clamping: segmentCount)
        info.memoryTokens = UInt32(clamping: memoryTokens)
        info.nextPosition = UInt64(max(0, nextPosition))
        // Keys and values, f32, as held before any storage quantization.
        info.bytes = UInt64(memoryTokens * shape.layers * shape.kvHeads * shape.headDim * 4 * 2)
        return info
    }
}
