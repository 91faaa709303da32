import COpenBLAS
import Foundation
import LoMAModel
import LoMATensorIO

/// The yardsticks the pass is judged against, measured in the same process and timed in the
/// same rounds as the pass.
enum Baselines {
    /// OpenBLAS square sgemm (the ceiling for a pass made of matrix products).
    struct SquareProduct {
        let size: Int
        let a: Tensor
        let b: Tensor
        let c: Tensor

        init(size: Int) {
            self.size = size
            a = Tensor(shape: [size, size], values: (0..<(size * size)).map { Float($0 % 7) * 0.1 })
            b = Tensor(shape: [size, size], values: (0..<(size * size)).map { Float($0 % 5) * 0.1 })
            c = Tensor(zeros: [size, size])
            run()  // warm-up: OpenBLAS sizes its buffers and starts its threads
        }

        var flops: Double { 2 * pow(Double(size), 3) }

        func run() {
            let n = Int32(size)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1,
                        a.storage.pointer, n, b.storage.pointer, n, 0, c.storage.pointer, n)
        }
    }

    /// memcpy of `bytes` (the rate at which weights can be streamed: weight bytes / this rate
    /// is the floor for a pass that must read every weight once).
    struct Copy {
        let bytes: Int
        let source: AlignedStorage
        let destination: AlignedStorage

        init(bytes: Int) {
            self.bytes = bytes
            source = AlignedStorage(count: bytes / 4)
            destination = AlignedStorage(count: bytes / 4)
            for index in stride(from: 0, to: source.count, by: 1024) { source.pointer[index] = Float(index) }
            run()  // warm-up: fault in the destination pages
        }

        func run() { memcpy(destination.pointer, source.pointer, bytes) }
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
