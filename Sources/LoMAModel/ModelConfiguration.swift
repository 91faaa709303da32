import Foundation
import LoMATensorIO

/// The Hugging Face `config.json` of a Llama-family checkpoint, with HF key names. Decoding
/// accepts both transformers v4 and v5 styles and fills the derived fields (`head_dim`, GQA
/// defaults, which projections carry biases) once, so the compute code never re-derives them.
public struct ModelConfiguration: Codable, Sendable, Equatable {
    public enum Architecture: String, Codable, Sendable {
        case llama = "LlamaForCausalLM"
        case qwen2 = "Qwen2ForCausalLM"
    }

    public var architecture: Architecture
    public var hiddenSize: Int
    public var intermediateSize: Int
    public var numHiddenLayers: Int
    public var numAttentionHeads: Int
    public var numKeyValueHeads: Int
    public var headDim: Int
    public var vocabularySize: Int
    public var rmsNormEps: Float
    public var rope: RoPEConfiguration
    /// Biases on q/k/v (Qwen2 always; Llama when `attention_bias`).
    public var qkvBias: Bool
    /// Bias on o_proj (Llama `attention_bias` only; Qwen2 never).
    public var outputBias: Bool
    /// Biases on gate/up/down (Llama `mlp_bias`).
    public var mlpBias: Bool
    public var tieWordEmbeddings: Bool
    public var loma: LoMAConfiguration

    enum CodingKeys: String, CodingKey {
        case architectures
        case modelType = "model_type"
        case hiddenSize = "hidden_size"
        case intermediateSize = "intermediate_size"
        case numHiddenLayers = "num_hidden_layers"
        case numAttentionHeads = "num_attention_heads"
        case numKeyValueHeads = "num_key_value_heads"
        case headDim = "head_dim"
        case vocabularySize = "vocab_size"
        case rmsNormEps = "rms_norm_eps"
        case ropeTheta = "rope_theta"
        case ropeScaling = "rope_scaling"
        case ropeParameters = "rope_parameters"
        case attentionBias = "attention_bias"
        case mlpBias = "mlp_bias"
        case tieWordEmbeddings = "tie_word_embeddings"
        case hiddenAct = "hidden_act"
        case useSlidingWindow = "use_sliding_window"
        case loma
    }

    /// Queries per key/value head.
    public var queriesPerKeyValueHead: Int { numAttentionHeads / numKeyValueHeads }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let architectures = try container.decodeIfPresent([String].self, forKey: .architectures) ?? []
        let modelType = try container.decodeIfPresent(String.self, forKey: .modelType)
        if let known = architectures.lazy.compactMap(Architecture.init(rawValue:)).first {
            architecture = known
        } else if architectures.isEmpty, modelType == "llama" || modelType == "qwen2" {
            architecture = modelType == "llama" ? .llama : .qwen2
        } else {
            let name = architectures.first ?? modelType ?? "none"
            throw LoMAModelError.checkpoint(
                "config.json: architectures '\(name)' is not supported (LlamaForCausalLM, Qwen2ForCausalLM)")
        }
        // The engine computes SwiGLU with full attention: a checkpoint built otherwise would load and
        // give wrong memory without a word, so it is refused (as the numpy reference refuses it).
        let activation = try container.decodeIfPresent(String.self, forKey: .hiddenAct) ?? "silu"
        guard activation == "silu" else {
            throw LoMAModelError.checkpoint("config.json: hidden_act '\(activation)' is not supported (only silu, the SwiGLU MLP)")
        }
        if architecture == .qwen2, try container.decodeIfPresent(Bool.self, forKey: .useSlidingWindow) == true {
            throw LoMAModelError.checkpoint("config.json: use_sliding_window = true is not supported (lomad attends over the whole context)")
        }
        hiddenSize = try container.decode(Int.self, forKey: .hiddenSize)
        intermediateSize = try container.decode(Int.self, forKey: .intermediateSize)
        numHiddenLayers = try container.decode(Int.self, forKey: .numHiddenLayers)
        numAttentionHeads = try container.decode(Int.self, forKey: .numAttentionHeads)
        numKeyValueHeads = try container.decodeIfPresent(Int.self, forKey: .numKeyValueHeads) ?? numAttentionHeads
        vocabularySize = try container.decode(Int.self, forKey: .vocabularySize)
        rmsNormEps = try container.decodeIfPresent(Float.self, forKey: .rmsNormEps) ?? 1e-6
        tieWordEmbeddings = try container.decodeIfPresent(Bool.self, forKey: .tieWordEmbeddings) ?? false

        // One check per field, each naming it, as Tools/loma_reference/config.py does.
        for (field, value) in [("hidden_size", hiddenSize), ("intermediate_size", intermediateSize),
                               ("num_hidden_layers", numHiddenLayers), ("num_attention_heads", numAttentionHeads),
                               ("num_key_value_heads", numKeyValueHeads), ("vocab_size", vocabularySize)] where value <= 0 {
            throw LoMAModelError.checkpoint("config.json: \(field) must be positive, got \(value)")
        }
        if let explicit = try container.decodeIfPresent(Int.self, forKey: .headDim) {
            headDim = explicit
        } else {
            guard hiddenSize % numAttentionHeads == 0 else {
                throw LoMAModelError.checkpoint(
                    "config.json: head_dim is absent and hidden_size \(hiddenSize) is not a multiple of num_attention_heads \(numAttentionHeads)")
            }
            headDim = hiddenSize / numAttentionHeads
        }
        guard headDim > 0, headDim % 2 == 0 else {
            throw LoMAModelError.checkpoint("config.json: head_dim \(headDim) must be positive and even for RoPE")
        }
        guard numAttentionHeads % numKeyValueHeads == 0 else {
            throw LoMAModelError.checkpoint(
                "config.json: num_attention_heads \(numAttentionHeads) is not a multiple of num_key_value_heads \(numKeyValueHeads)")
        }

        let topLevelTheta = try container.decodeIfPresent(Double.self, forKey: .ropeTheta)
        if let parameters = try container.decodeIfPresent(RoPEParametersJSON.self, forKey: .ropeParameters) {
            rope = try parameters.resolved(theta: topLevelTheta, field: "rope_parameters")
        } else if let scaling = try container.decodeIfPresent(RoPEParametersJSON.self, forKey: .ropeScaling) {
            rope = try scaling.resolved(theta: topLevelTheta, field: "rope_scaling")
        } else {
            rope = try RoPEParametersJSON().resolved(theta: topLevelTheta, field: "rope_theta")
        }

        let attentionBias = try container.decodeIfPresent(Bool.self, forKey: .attentionBias) ?? false
        switch architecture {
        case .llama:
            qkvBias = attentionBias
            outputBias = attentionBias
        case .qwen2:
            qkvBias = true
            outputBias = false
        }
        // Qwen2's MLP has no biases whatever the config says (transformers' Qwen2MLP ignores
        // mlp_bias), so the flag is read for Llama only, as the numpy reference reads it.
        let mlpBiasFlag = try container.decodeIfPresent(Bool.self, forKey: .mlpBias) ?? false
        mlpBias = architecture == .llama && mlpBiasFlag

        guard let loma = try container.decodeIfPresent(LoMAConfiguration.self, forKey: .loma) else {
            throw LoMAModelError.checkpoint(
                "config.json: missing 'loma' section (segment_length, compression_ratio, memory_token_ids); this is not a LoMA checkpoint")
        }
        guard loma.segmentLength > 0, loma.compressionRatio > 0, loma.segmentLength % loma.compressionRatio == 0 else {
            throw LoMAModelError.checkpoint(
                "config.json: loma.segment_length \(loma.segmentLength) must be a positive multiple of loma.compression_ratio \(loma.compressionRatio)")
        }
        guard loma.memoryTokenIds.count == loma.memoryTokensPerSegment || loma.memoryTokenIds.count == 1 else {
            throw LoMAModelError.checkpoint(
                "config.json: loma.memory_token_ids has \(loma.memoryTokenIds.count) entries, expected 1 or \(loma.memoryTokensPerSegment)")
        }
        let vocabulary = vocabularySize
        if let bad = loma.memoryTokenIds.first(where: { $0 < 0 || $0 >= vocabulary }) {
            throw LoMAModelError.checkpoint("config.json: loma.memory_token_ids contains \(bad), outside vocab_size \(vocabularySize)")
        }
        self.loma = loma
    }

    /// Writes the v5 style (used by tests that synthesise checkpoints).
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode([architecture.rawValue], forKey: .architectures)
        try container.encode(hiddenSize, forKey: .hiddenSize)
        try container.encode(intermediateSize, forKey: .intermediateSize)
        try container.encode(numHiddenLayers, forKey: .numHiddenLayers)
        try container.encode(numAttentionHeads, forKey: .numAttentionHeads)
        try container.encode(numKeyValueHeads, forKey: .numKeyValueHeads)
        try container.encode(headDim, forKey: .headDim)
        try container.encode(vocabularySize, forKey: .vocabularySize)
        try container.encode(rmsNormEps, forKey: .rmsNormEps)
        var parameters = RoPEParametersJSON()
        parameters.ropeType = rope.kind.rawValue
        parameters.ropeTheta = rope.theta
        if rope.kind != .default { parameters.factor = rope.factor }
        if rope.kind == .llama3 {
            parameters.lowFreqFactor = rope.lowFrequencyFactor
            parameters.highFreqFactor = rope.highFrequencyFactor
            parameters.originalMaxPositionEmbeddings = rope.originalMaxPositionEmbeddings
        }
        try container.encode(parameters, forKey: .ropeParameters)
        try container.encode(architecture == .llama && qkvBias, forKey: .attentionBias)
        try container.encode(mlpBias, forKey: .mlpBias)
        try container.encode(tieWordEmbeddings, forKey: .tieWordEmbeddings)
        try container.encode(loma, forKey: .loma)
    }
}
