import COpenBLAS
import Foundation
import LoMAModel

/// The yardsticks the pass is judged against, measured in the same process.
enum Baselines {
    /// OpenBLAS square sgemm rate (the ceiling for a pass made of matrix products).
    static func sgemmGFLOPs(size: Int, repeat: Int) -> Double {
        let a = Tensor(shape: [size, size], values: (0..<(size * size)).map { Float($0 % 7) * 0.1 })
        let b = Tensor(shape: [size, size], values: (0..<(size * size)).map { Float($0 % 5) * 0.1 })
        let c = Tensor(zeros: [size, size])
        let n = Int32(size)
        let seconds = EngineBenchmark.bestSeconds(repeat: `repeat`) {
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1,
                        a.storage.pointer, n, b.storage.pointer, n, 0, c.storage.pointer, n)
        }
        return 2 * pow(Double(size), 3) / seconds / 1e9
    }

    /// memcpy bandwidth in GB/s of bytes copied (the rate at which weights can be streamed).
    static func memcpyGBps(bytes: Int, repeat: Int) -> Double {
        let source = AlignedStorage(count: bytes / 4)
        let destination = AlignedStorage(count: bytes / 4)
        for index in stride(from: 0, to: source.count, by: 1024) { source.pointer[index] = Float(index) }
        let seconds = EngineBenchmark.bestSeconds(repeat: max(`repeat`, 5)) {
            memcpy(destination.pointer, source.pointer, bytes)
        }
        return Double(bytes) / seconds / 1e9
    }
}

/// Random bf16 KV for one single-segment job, shaped for `model`.
final class RandomKV {
    let keys: Tensor
    let values: Tensor
    let context: Tensor?

    init(model: LlamaModel, tokens: Int, context contextTokens: Int) {
        let c = model.configuration
        func random(_ tokens: Int) -> Tensor {
            Tensor(shape: [c.numHiddenLayers, c.numKeyValueHeads, tokens, c.headDim],
                   values: (0..<(c.numHiddenLayers * c.numKeyValueHeads * tokens * c.headDim)).map { _ in Float.random(in: -1...1) })
        }
        keys = random(tokens)
        values = random(tokens)
        context = contextTokens > 0 ? random(contextTokens) : nil
    }

    func job() throws -> CompressionJob {
        CompressionJob(
            keys: try KVTensorView(keys), values: try KVTensorView(values),
            contextKeys: try context.map { try KVTensorView($0) }, contextValues: try context.map { try KVTensorView($0) })
    }
}
