import ArgumentParser
import LoMAClient
import LoMAProtocol

/// `lomactl models`: what each served model expects, spelled as the KV file shapes a user has to
/// produce, which is what one needs before the first compress.
struct Models: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the models the daemon serves and the KV file shape each expects.")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let models = try await withClient("models", connection) { try await $0.health().models }
        if connection.json {
            try printJSON(models.map(\.jsonObject))
            return
        }
        if models.isEmpty {
            print("lomad serves no models")
        }
        for model in models {
            print("\(model.name): \(model.summary)")
            print("  KV file: keys and values [\(model.layers), \(model.kvHeads), tokens, \(model.headDim)] heads_major " +
                  "or [\(model.layers), tokens, \(model.kvHeads), \(model.headDim)] tokens_major, tokens a multiple of \(model.segmentLength)")
            print("  hidden size \(model.hiddenSize), \(model.attentionHeads) attention heads, loaded in \(formatDuration(model.loadSeconds))")
        }
    }
}

/// The served model called `name`, or the only one when `name` is empty.
func servedModel(_ name: String, of client: LoMAClient) async throws -> Loma_V1_ModelInfo {
    let models = try await client.health().models
    if let model = models.first(where: { $0.name == name }) { return model }
    let names = models.map { "'\($0.name)'" }.joined(separator: ", ")
    if name.isEmpty {
        guard models.count == 1, let only = models.first else {
            throw CommandFailure(.usage, models.isEmpty ? "lomad serves no models" : "lomad serves \(names); pick one with --model")
        }
        return only
    }
    throw CommandFailure(.usage, "lomad serves no model '\(name)'; it serves \(models.isEmpty ? "none" : names)")
}
