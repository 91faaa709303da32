/// Symmetric int8 quantization with one scale per (layer, head, channel), taken over a segment's
/// memory tokens.
///
/// Per channel because KV magnitudes differ far more between channels (keys carry a few outlier
/// channels) than between the handful of memory tokens of one segment; a per-tensor scale would
/// spend the 8 bits on the outliers and flatten every other channel to zero.
enum Int8ChannelQuantizer {
    struct Quantized {
        /// `[layers, kvHeads, headDim]`: the value of one int8 step in each channel.
        var scales: [Float]
        /// `[layers, kvHeads, tokens, headDim]`, like the input.
        var codes: [Int8]
    }

    static func quantize(_ tensor: [Float], shape: MemoryShape, tokens: Int) -> Quantized {
        let blocks = shape.layers * shape.kvHeads
        let headDim = shape.headDim
        var scales = [Float](repeating: 0, count: blocks * headDim)
        var codes = [Int8](repeating: 0, count: tensor.count)
        for block in 0..<blocks {
            let base = block * tokens * headDim
            for channel in 0..<headDim {
                var largest: Float = 0
                for token in 0..<tokens {
                    largest = max(largest, abs(tensor[base + token * headDim + channel]))
                }
                guard largest > 0 else { continue }
                let scale = largest / 127
                scales[block * headDim + channel] = scale
                for token in 0..<tokens {
                    let index = base + token * headDim + channel
                    codes[index] = Int8(max(-127, min(127, (tensor[index] / scale).rounded())))
                }
            }
        }
        return Quantized(scales: scales, codes: codes)
    }

    static func dequantize(_ quantized: Quantized, shape: MemoryShape, tokens: Int) -> [Float] {
        let headDim = shape.headDim
        var tensor = [Float](repeating: 0, count: quantized.codes.count)
        for index in tensor.indices {
            let block = index / (tokens * headDim)
            let channel = index % headDim
            tensor[index] = Float(quantized.codes[index]) * quantized.scales[block * headDim + channel]
        }
        return tensor
    }
}
