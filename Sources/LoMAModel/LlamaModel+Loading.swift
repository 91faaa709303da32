import Foundation
import LoMATensorIO

extension LlamaModel {
    /// Loads `config.json` and the safetensors weights of `directory`, converting them to f32.
    public static func load(directory: URL) throws -> LlamaModel {
        let configuration = try ModelConfiguration.load(from: directory.appendingPathComponent("config.json"))
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        let reader = WeightReader(checkpoint: checkpoint, configuration: configuration)
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

    /// Same as `load(directory:)`.
    public convenience init(directory: URL) throws {
        let loaded = try LlamaModel.load(directory: directory)
        self.init(configuration: loaded.configuration, layers: loaded.layers, memoryEmbeddings: loaded.memoryEmbeddings,
                  directory: loaded.directory, checkpointDType: loaded.checkpointDType)
    }
}
