import ArgumentParser
import Foundation
import LoMAModel
import LoMATensorIO

/// `lomad compress`: the offline path, one block of KV from a file to memory KV in a file,
/// without a daemon. Uses the same engine call the server does.
struct Compress: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress a KV file into memory-token KV with a LoMA checkpoint (no daemon).")

    @Option(help: "Checkpoint folder (config.json + safetensors).")
    var model: String

    @Option(help: "KV file with 'keys' and 'values' [layers, kv_heads, tokens, head_dim]; a whole number of segments.")
    var input: String

    @Option(help: "Where to write 'keys', 'values' and 'positions' (I64).")
    var output: String

    @Option(help: "KV file of the context before the input (earlier memory, sink or prompt tokens).")
    var context: String?

    @Option(help: "Absolute position of the first input token.")
    var position: Int = 0

    @Option(help: "loma, mean_pool or strided.")
    var method: CompressionMethod = .loma

    @Option(help: "Output dtype: f32, f16 or bf16 (default: the input's).")
    var dtype: DType?

    @Option(help: "Axis order of the input file: heads_major [layers, kv_heads, tokens, head_dim] or tokens_major [layers, tokens, kv_heads, head_dim].")
    var layout: KVLayout = .headsMajor

    @Option(help: "BLAS threads (default: all cores).")
    var threads: Int?

    func run() throws {
        if let threads { BLAS.setThreadCount(threads) }
        let model = try LlamaModel.load(directory: URL(fileURLWithPath: self.model))
        let input = try KVFile(url: URL(fileURLWithPath: self.input), layout: layout)
        let context = try self.context.map { try KVFile(url: URL(fileURLWithPath: $0)) }
        let job = CompressionJob(
            keys: input.keys, values: input.values, contextKeys: context?.keys, contextValues: context?.values,
            position: position, method: method)
        guard let result = try model.compress([job]).first else { throw ExitCode.failure }
        try KVFile.write(result, to: URL(fileURLWithPath: output), dtype: dtype ?? input.dtype)
        withExtendedLifetime((input, context)) {}
    }
}

extension CompressionMethod: ExpressibleByArgument {}
extension DType: ExpressibleByArgument {}
extension KVLayout: ExpressibleByArgument {}
