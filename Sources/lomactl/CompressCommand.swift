import ArgumentParser
import LoMAClient
import LoMAProtocol
import LoMATensorIO

struct Compress: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress a KV file through the daemon (same files as `lomad compress`).",
        discussion: "The memory is written heads_major [layers, kv_heads, memory_tokens, head_dim], with its positions (I64).")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Model name as the daemon serves it (default: its only model).")
    var model: String = ""

    @Option(help: "KV safetensors file with 'keys' and 'values' (axes: see --layout); a whole number of segments.")
    var input: String

    @Option(help: "Where to write the memory (keys, values, positions).")
    var output: String

    @Option(help: "KV file the segment attends to before itself (same layout as --input).")
    var context: String?

    @Option(help: "Sequence to read prior memory from and append the new memory to.")
    var sequence: String = ""

    @Option(help: "Absolute position of the first input token (default 0, or where the sequence ended).")
    var position: UInt64?

    @Option(help: "Compression method.")
    var method: MethodChoice = .loma

    @Option(help: "Output dtype (default: the input's).")
    var dtype: DType?

    @Option(help: "Axis order of --input and --context: heads_major [layers, kv_heads, tokens, head_dim] or tokens_major [layers, tokens, kv_heads, head_dim].")
    var layout: KVLayout = .headsMajor

    @Option(help: "With --sequence: seconds until the sequence expires.")
    var ttl: UInt32 = 0

    func run() async throws {
        try await reporting("compress") {
            let segment = try KVFiles.read(input, layout: layout)
            let contextKV = try context.map { try KVFiles.read($0, layout: layout) }
            // Before the daemon does the work, not after.
            try KVFiles.checkWritable(output)
            let options = CompressOptions(model: model, sequence: sequence, position: position, outputDType: dtype.map(Loma_V1_DType.init) ?? .unspecified,
                                          outputLayout: .headsMajor, method: method.wire, ttlSeconds: ttl)
            let client = try connection.makeClient()
            let memory: CompressedMemory
            do {
                memory = try await client.compress(keys: segment.keys, values: segment.values, context: contextKV, options: options)
            } catch let error as StatusError where error.code == .invalidArgument {
                guard let hint = await layoutHint(client, shape: segment.keys.shape) else { throw error }
                throw CommandFailure(.daemonError, "lomad answered \(error) — \(hint)")
            }
            try KVFiles.write(memory, to: output)
            print("\(memory.segments) segment(s) -> \(memory.positions.count) memory tokens written to \(output)")
        }
    }

    /// A hint at `--layout` when the input reads right in the other axis order: the daemon can
    /// only say that the kv_heads axis is wrong, not that the file is transposed.
    private func layoutHint(_ client: LoMAClient, shape: [Int]) async -> String? {
        guard shape.count == 4, let models = try? await client.health().models,
              let served = models.first(where: { $0.name == model }) ?? (model.isEmpty && models.count == 1 ? models.first : nil) else {
            return nil
        }
        let kvHeads = Int(served.kvHeads)
        switch layout {
        case .headsMajor where shape[1] != kvHeads && shape[2] == kvHeads:
            return "is the file tokens_major? pass --layout tokens_major"
        case .tokensMajor where shape[2] != kvHeads && shape[1] == kvHeads:
            return "is the file heads_major? pass --layout heads_major (the default)"
        default:
            return nil
        }
    }
}
