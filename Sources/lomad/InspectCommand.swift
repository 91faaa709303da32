import ArgumentParser
import Foundation
import LoMAModel

/// `lomad inspect`: what a checkpoint is and what loading it costs, before serving it.
struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show a LoMA checkpoint's architecture, sizes, LoMA parameters and memory footprint.")

    @Option(help: "Checkpoint folder (config.json + safetensors).")
    var model: String

    func run() throws {
        let model = try LlamaModel.load(directory: URL(fileURLWithPath: self.model))
        print(Self.describe(model))
    }

    static func describe(_ model: LlamaModel) -> String {
        let c = model.configuration
        let loma = c.loma
        var rope = "\(c.rope.kind.rawValue), theta \(c.rope.theta)"
        if c.rope.kind != .default { rope += ", factor \(c.rope.factor)" }
        if c.rope.kind == .llama3 {
            rope += ", low/high frequency factor \(c.rope.lowFrequencyFactor)/\(c.rope.highFrequencyFactor)"
                + ", original context \(Int(c.rope.originalMaxPositionEmbeddings))"
        }
        let biases = [c.qkvBias ? "q/k/v" : nil, c.outputBias ? "o" : nil, c.mlpBias ? "mlp" : nil].compactMap { $0 }
        return """
        model:            \(model.directory.path)
        architecture:     \(c.architecture.rawValue)
        layers:           \(c.numHiddenLayers)
        hidden size:      \(c.hiddenSize)
        intermediate:     \(c.intermediateSize)
        attention heads:  \(c.numAttentionHeads) (kv heads \(c.numKeyValueHeads), head_dim \(c.headDim))
        vocabulary:       \(c.vocabularySize)
        rope:             \(rope)
        biases:           \(biases.isEmpty ? "none" : biases.joined(separator: ", "))
        tied embeddings:  \(c.tieWordEmbeddings)
        loma:             segment_length \(loma.segmentLength), compression_ratio \(loma.compressionRatio), \(loma.memoryTokensPerSegment) memory tokens per segment, ids \(loma.memoryTokenIds)
        weight dtype:     \(model.checkpointDType) on disk, \(model.weightFormat.rawValue) in memory (engine.weights = auto), \(model.kernel.rawValue) kernel
        weights in memory: \(formatBytes(model.weightBytes)) (layers used by the memory pass + memory-token embeddings)
        KV per segment:   \(formatBytes(2 * c.numHiddenLayers * c.numKeyValueHeads * loma.segmentLength * c.headDim * 2)) in, \(formatBytes(2 * c.numHiddenLayers * c.numKeyValueHeads * loma.memoryTokensPerSegment * c.headDim * 2)) out (16-bit)
        """
    }

    private static func formatBytes(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024, unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        return unit == 0 ? "\(bytes) B" : "\(String(format: "%.1f", value)) \(units[unit])"
    }
}
