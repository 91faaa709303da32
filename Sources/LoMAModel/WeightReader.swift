import Foundation
import LoMATensorIO

/// Reads weights out of a checkpoint into f32, checking every shape against what the
/// configuration implies so a mismatched checkpoint fails at load, naming the tensor.
struct WeightReader {
    let checkpoint: SafetensorsCheckpoint
    let configuration: ModelConfiguration
    /// How linear weights are held (resolved: `f32` or `bf16`).
    let weights: EngineOptions.Weights
    /// The product kernel the linear layers run (resolved).
    let kernel: EngineOptions.Kernel

    /// Reads tensors with the given expected shapes and stacks them along the first axis (used
    /// to fuse projections that share an input).
    func stacked(_ parts: [(name: String, shape: [Int])]) throws -> Tensor {
        let rows = parts.reduce(0) { $0 + $1.shape[0] }
        let trailing = Array(parts[0].shape.dropFirst())
        let tensor = Tensor(zeros: [rows] + trailing)
        var offset = 0
        for part in parts {
            let (file, info) = try checked(part.name, shape: part.shape)
            try file.readFloat32(info, into: tensor.mutablePointer + offset)
            offset += info.elementCount
        }
        return tensor
    }

    func tensor(_ name: String, shape: [Int]) throws -> Tensor {
        try stacked([(name, shape)])
    }

    /// A fused linear layer: weights `prefix.{part}.weight`, biases when `bias` is set.
    func linear(_ prefix: String, parts: [(name: String, outFeatures: Int)], inFeatures: Int, bias: Bool) throws -> Linear {
        let weight = try stacked(parts.map { ("\(prefix).\($0.name).weight", [$0.outFeatures, inFeatures]) })
        let biasTensor = bias ? try stacked(parts.map { ("\(prefix).\($0.name).bias", [$0.outFeatures]) }) : nil
        return Linear(weight: weight, bias: biasTensor, format: weights, kernel: kernel)
    }

    func norm(_ name: String) throws -> RMSNorm {
        RMSNorm(weight: try tensor(name, shape: [configuration.hiddenSize]), epsilon: configuration.rmsNormEps)
    }

    /// Rows `ids` of the embedding matrix only: the pass never embeds anything but memory
    /// tokens, and a full Llama-3 vocabulary in f32 would be a gigabyte of dead weight.
    func embeddingRows(_ ids: [Int]) throws -> Tensor {
        let name = "model.embed_tokens.weight"
        let hidden = configuration.hiddenSize
        let (file, info) = try checked(name, shape: [configuration.vocabularySize, hidden])
        guard let dtype = info.dtype else {
            throw LoMAModelError.checkpoint("\(file.url.path): tensor '\(name)' has dtype \(info.dtypeName), expected F32, F16 or BF16")
        }
        let rows = Tensor(zeros: [ids.count, hidden])
        let raw = file.bytes(of: info)
        guard let base = raw.baseAddress else { return rows }
        for (row, id) in ids.enumerated() {
            DTypeConversion.toFloat32(base + id * hidden * dtype.byteSize, dtype: dtype, count: hidden,
                                      into: rows.mutablePointer + row * hidden)
        }
        file.releasePages(of: info)
        return rows
    }

    private func checked(_ name: String, shape: [Int]) throws -> (SafetensorsFile, SafetensorsTensorInfo) {
        let (file, info) = try checkpoint.locate(name)
        guard info.shape == shape else {
            throw LoMAModelError.checkpoint(
                "\(file.url.path): tensor '\(name)' has shape \(info.shape) but config.json implies \(shape)")
        }
        guard info.dtype != nil else {
            throw LoMAModelError.checkpoint(
                "\(file.url.path): tensor '\(name)' has dtype \(info.dtypeName), expected F32, F16 or BF16")
        }
        return (file, info)
    }
}
