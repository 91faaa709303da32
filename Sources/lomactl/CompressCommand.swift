import ArgumentParser
import LoMAClient
import LoMAProtocol

struct Compress: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compress a KV file through the daemon (same files as `lomad compress`).")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Model name as the daemon serves it (default: its only model).")
    var model: String = ""

    @Option(help: "KV safetensors file (keys, values: [layers, kv_heads, tokens, head_dim]).")
    var input: String

    @Option(help: "Where to write the memory (keys, values, positions).")
    var output: String

    @Option(help: "KV file the segment attends to before itself.")
    var context: String?

    @Option(help: "Sequence to read prior memory from and append the new memory to.")
    var sequence: String = ""

    @Option(help: "Absolute position of the first input token (default 0, or where the sequence ended).")
    var position: UInt64?

    @Option(help: "loma, mean_pool or strided.")
    var method: String = "loma"

    @Option(help: "Output dtype: f32, f16 or bf16 (default: the input's).")
    var dtype: String?

    @Option(help: "With --sequence: seconds until the sequence expires.")
    var ttl: UInt32 = 0

    func run() async throws {
        let methods: [String: Loma_V1_CompressionMethod] = ["loma": .loma, "mean_pool": .meanPool, "strided": .strided]
        let dtypes: [String: Loma_V1_DType] = ["f32": .f32, "f16": .f16, "bf16": .bf16]
        guard let method = methods[method] else { throw ValidationError("--method must be loma, mean_pool or strided") }
        guard let outputDType = dtype.map({ dtypes[$0] }) ?? .unspecified else {
            throw ValidationError("--dtype must be f32, f16 or bf16")
        }
        let segment = try KVFiles.read(input)
        let contextKV = try context.map(KVFiles.read)
        let options = CompressOptions(model: model, sequence: sequence, position: position, outputDType: outputDType,
                                      outputLayout: .headsMajor, method: method, ttlSeconds: ttl)
        let memory = try await withClient(connection) {
            try await $0.compress(keys: segment.keys, values: segment.values, context: contextKV, options: options)
        }
        try KVFiles.write(memory, to: output)
        print("\(memory.segments) segment(s) -> \(memory.positions.count) memory tokens written to \(output)")
    }
}
