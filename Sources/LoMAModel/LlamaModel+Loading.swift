import Foundation
import LoMATensorIO

extension LlamaModel {
    /// Loads `config.json` and the safetensors weights of `directory`, holding the linear weights
    /// as `options.weights` says (norms and embeddings, a few KiB per layer, stay f32) and
    /// multiplying by them with `options.kernel`.
    /// - Throws: `EngineOptionsError` when the CPU cannot run the kernel asked for (before any
    ///   file is read); `LoMAModelError` for a missing or broken checkpoint.
    public static func load(directory: URL, options: EngineOptions = EngineOptions()) throws -> LlamaModel {
        let kernel = try options.resolvedKernel()
        let configuration = try ModelConfiguration.load(from: directory.appendingPathComponent("config.json"))
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        let reader = WeightReader(checkpoint: checkpoint, configuration: configuration,
                                  weights: options.resolvedWeights(checkpointDType: checkpoint.predominantDType),
                                  kernel: kernel)
        let c = configuration
        let queryWidth = c.numAttentionHeads * c.headDim
        let keyValueWidth = c.numKeyValueHeads * c.headDim

        var layers: [DecoderLayer] = []
        layers.reserveCapacity(c.numHiddenLayers)
        for index in 0..<c.numHiddenLayers {
            let prefix = "model.layers.\(index)"
            let isLast = index == c.numHiddenLayers - 1
            let projections: [(name: String, outFeatures: Int)] =
                (isLast ? [] : [("q_proj", queryWidth)]) + [("k_proj", keyValueWidth), ("v_proj", keyValueWidth)]
            let attention = Attention(
                queryKeyValue: try reader.linear("\(prefix).self_attn", parts: projections, inFeatures: c.hiddenSize, bias: c.qkvBias),
                output: isLast ? nil : try reader.linear(
                    "\(prefix).self_attn", parts: [("o_proj", c.hiddenSize)], inFeatures: queryWidth, bias: c.outputBias))
            let mlp = isLast ? nil : MLP(
                gateUp: try reader.linear(
                    "\(prefix).mlp", parts: [("gate_proj", c.intermediateSize), ("up_proj", c.intermediateSize)],
                    inFeatures: c.hiddenSize, bias: c.mlpBias),
                down: try reader.linear(
                    "\(prefix).mlp", parts: [("down_proj", c.hiddenSize)], inFeatures: c.intermediateSize, bias: c.mlpBias))
            layers.append(DecoderLayer(
                inputNorm: try reader.norm("\(prefix).input_layernorm.weight"),
                attention: attention,
                postAttentionNorm: isLast ? nil : try reader.norm("\(prefix).post_attention_layernorm.weight"),
                mlp: mlp))
        }
        let memoryIds = (0..<c.loma.memoryTokensPerSegment).map(c.loma.memoryTokenId)
        return LlamaModel(
            configuration: configuration, layers: layers,
            memoryEmbeddings: try reader.embeddingRows(memoryIds),
            directory: directory, checkpointDType: checkpoint.predominantDType)
    }

    /// Same as `load(directory:options:)`.
    public convenience init(directory: URL, options: EngineOptions = EngineOptions()) throws {
        let loaded = try LlamaModel.load(directory: directory, options: options)
        self.init(configuration: loaded.configuration, layers: loaded.layers, memoryEmbeddings: loaded.memoryEmbeddings,
                  directory: loaded.directory, checkpointDType: loaded.checkpointDType)
    }
}
