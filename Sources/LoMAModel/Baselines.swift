import LoMATensorIO

/// The comparison methods of docs/loma-spec.md 3.5. Each memory token stands for a group of
/// `compression_ratio` consecutive tokens and takes the position of the group's last token, like
/// a LoMA memory token.
enum Baselines {
    /// Averages each group's keys and values.
    static func meanPool(_ job: CompressionJob, ratio: Int, into output: MemoryOutput) {
        let row = AlignedStorage(count: output.headDim)
        let scale = 1 / Float(ratio)
        forEachMemoryRow(job, output) { source, layer, head, memory, destination in
            for index in 0..<output.headDim { destination[index] = 0 }
            for token in (memory * ratio)..<((memory + 1) * ratio) {
                read(source, layer: layer, head: head, token: token, into: row.pointer)
                for index in 0..<output.headDim { destination[index] += row.pointer[index] }
            }
            for index in 0..<output.headDim { destination[index] *= scale }
        }
    }

    /// Keeps each group's last token, whose key is already rotated at the memory position.
    static func strided(_ job: CompressionJob, ratio: Int, into output: MemoryOutput) {
        forEachMemoryRow(job, output) { source, layer, head, memory, destination in
            read(source, layer: layer, head: head, token: memory * ratio + ratio - 1, into: destination)
        }
    }

    /// Calls `body` for every output row of keys and of values with the matching source view.
    private static func forEachMemoryRow(
        _ job: CompressionJob, _ output: MemoryOutput,
        _ body: (KVTensorView, Int, Int, Int, UnsafeMutablePointer<Float>) -> Void
    ) {
        for (source, target) in [(job.keys, output.keys), (job.values, output.values)] {
            for layer in 0..<output.layers {
                for head in 0..<output.kvHeads {
                    for memory in 0..<output.tokens {
                        body(source, layer, head, memory,
                             target.mutablePointer + output.offset(layer: layer, head: head, token: memory))
                    }
                }
            }
        }
    }

    private static func read(_ view: KVTensorView, layer: Int, head: Int, token: Int, into destination: UnsafeMutablePointer<Float>) {
        guard let base = view.bytes.baseAddress else { return }
        let source = base + view.rowOffset(layer: layer, head: head, token: token) * view.dtype.byteSize
        DTypeConversion.toFloat32(source, dtype: view.dtype, count: view.headDim, into: destination)
    }
}
