import Foundation
import LoMATensorIO

/// A loaded LoMA checkpoint: the decoder layers in f32, the memory tokens' embeddings, and the
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

    /// Bytes of f32 weights held in memory (what the resident-set goal is measured against).
    public var weightBytes: Int {
        var floats = memoryEmbeddings.count
        for layer in layers {
            floats += layer.inputNorm.weight.count + (layer.postAttentionNorm?.weight.count ?? 0)
            var linears = [layer.attention.queryKeyValue]
            if let output = layer.attention.output { linears.append(output) }
            if let mlp = layer.mlp { linears += [mlp.gateUp, mlp.down] }
            floats += linears.reduce(0) { $0 + $1.weight.count + ($1.bias?.count ?? 0) }
        }
        return floats * MemoryLayout<Float>.size
    }
}
