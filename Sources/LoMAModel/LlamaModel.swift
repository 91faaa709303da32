import Foundation
import LoMATensorIO

/// A loaded LoMA checkpoint: the decoder layers (weights packed in f32 or bf16), the memory tokens' embeddings, and the
/// rotary tables' frequencies. Immutable after loading, so any number of threads may run
/// `compress` on one instance at once (each call allocates its own scratch).
public final class LlamaModel: Sendable {
    public let configuration: ModelConfiguration
    public let layers: [DecoderLayer]
    /// `[t, hidden]`: the input embedding of each memory token of a segment.
    public let memoryEmbeddings: Tensor
    public let rotary: RotaryEmbedding
    /// Where the weights came from (for messages and `inspect`).
    public let directory: URL
    /// The dtype the checkpoint stores most of its weights in.
    public let checkpointDType: String

    public init(
        configuration: ModelConfiguration, layers: [DecoderLayer], memoryEmbeddings: Tensor,
        directory: URL, checkpointDType: String
    ) {
        self.configuration = configuration
        self.layers = layers
        self.memoryEmbeddings = memoryEmbeddings
        self.rotary = RotaryEmbedding(configuration: configuration.rope, headDim: configuration.headDim)
        self.directory = directory
        self.checkpointDType = checkpointDType
    }

    /// Every linear layer, in pass order.
    var linears: [Linear] {
        layers.flatMap { layer in
            [layer.attention.queryKeyValue] + [layer.attention.output, layer.mlp?.gateUp, layer.mlp?.down].compactMap { $0 }
        }
    }

    /// How the linear weights are held (`f32` or `bf16`).
    public var weightFormat: EngineOptions.Weights { linears.first?.weight.format ?? .f32 }

    /// The product kernel the pass runs.
    public var kernel: EngineOptions.Kernel { linears.first?.kernel ?? .portable }

    /// Bytes of weights held in memory (what the resident-set goal and the weight-streaming
    /// floor are measured against): the packed linear weights in their format, norms,
    /// biases and memory embeddings in f32.
    public var weightBytes: Int {
        var floats = memoryEmbeddings.count
        for layer in layers {
            floats += layer.inputNorm.weight.count + (layer.postAttentionNorm?.weight.count ?? 0)
        }
        floats += linears.reduce(0) { $0 + ($1.bias?.count ?? 0) }
        return floats * MemoryLayout<Float>.size + linears.reduce(0) { $0 + $1.weight.byteCount }
    }
}
