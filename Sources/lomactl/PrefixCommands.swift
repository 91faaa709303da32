import ArgumentParser
import Foundation
import LoMAClient
import LoMAProtocol
import LoMATensorIO

/// `lomactl prefix publish|lookup`: share the memory of a common prompt prefix (a system prompt)
/// between sequences and processes, named by chained chunk hashes of its token ids.
struct Prefix: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Publish or look up the memory of a shared token prefix.",
        discussion: """
        A prefix is named by its token ids, one chunk per segment of the model: chunk i's hash is \
        sha256(hash of chunk i-1 || its token ids as little-endian u32), the first parent 32 zero bytes, \
        as every lomad client computes it. TOKENS files hold decimal token ids separated by spaces, \
        newlines or commas.
        """,
        subcommands: [PrefixPublish.self, PrefixLookup.self])
}

struct PrefixPublish: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "publish",
        abstract: "Store a prefix's memory (from lomactl compress or memory) under its chunk hashes.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Model name as the daemon serves it (default: its only model).")
    var model: String = ""

    @Option(help: "Token ids of the prefix (at least as many whole segments as the memory covers).")
    var tokens: String

    @Option(help: "Memory file (keys, values and optionally positions, heads_major), one segment's memory per chunk.")
    var memory: String

    func run() async throws {
        try await reporting("prefix publish") {
            let tokenIDs = try KVFiles.readTokens(tokens)
            let file = try KVFiles.open(memory)
            let (keys, values) = try KVFiles.read(memory)
            let positions = try file["positions"].map { _ in try file.readInt64("positions") } ?? []
            let client = try connection.makeClient()
            let served = try await servedModel(model, of: client)
            let perChunk = Int(served.memoryTokensPerSegment)
            let memoryTokens = keys.shape[2]
            guard perChunk > 0, memoryTokens > 0, memoryTokens % perChunk == 0 else {
                throw CommandFailure(.badInput, "\(memory) holds \(memoryTokens) memory tokens; \(served.name) makes \(perChunk) per segment, " +
                                     "so a prefix's memory is a positive multiple of \(perChunk)")
            }
            let chunks = memoryTokens / perChunk
            let hashes = ChunkHash.chain(tokenIDs: tokenIDs, segmentLength: Int(served.segmentLength))
            guard hashes.count >= chunks else {
                throw CommandFailure(.badInput, "\(tokens) has \(tokenIDs.count) tokens, \(hashes.count) whole segment(s) of " +
                                     "\(served.segmentLength), but \(memory) holds the memory of \(chunks)")
            }
            let stored = try await client.publishPrefix(model: served.name, chunkHashes: Array(hashes.prefix(chunks)),
                                                        keys: keys, values: values, positions: positions)
            print("published \(chunks) chunk(s) of \(served.segmentLength) tokens, \(stored) new to the store")
        }
    }
}

struct PrefixLookup: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lookup",
        abstract: "Find the longest published prefix of a token sequence and write its memory.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Model name as the daemon serves it (default: its only model).")
    var model: String = ""

    @Option(help: "Token ids to look up (whole segments; a trailing partial one is ignored).")
    var tokens: String

    @Option(help: "Where to write the matched memory (keys, values, positions); nothing is written when nothing matched.")
    var output: String?

    @Option(help: "Output dtype (default: as stored).")
    var dtype: DType?

    func run() async throws {
        try await reporting("prefix lookup") {
            let tokenIDs = try KVFiles.readTokens(tokens)
            if let output { try KVFiles.checkWritable(output) }
            let client = try connection.makeClient()
            let served = try await servedModel(model, of: client)
            let hashes = ChunkHash.chain(tokenIDs: tokenIDs, segmentLength: Int(served.segmentLength))
            guard !hashes.isEmpty else {
                throw CommandFailure(.badInput, "\(tokens) has \(tokenIDs.count) tokens, less than one segment of \(served.segmentLength)")
            }
            let (matched, memory) = try await client.lookupPrefix(model: served.name, chunkHashes: hashes,
                                                                  outputDType: dtype.map(Loma_V1_DType.init) ?? .unspecified, outputLayout: .headsMajor)
            print("matched \(matched) of \(hashes.count) chunk(s) (\(matched * Int(served.segmentLength)) tokens)")
            if let output, let memory {
                try KVFiles.write(memory, to: output)
                print("\(memory.positions.count) memory tokens written to \(output)")
            }
        }
    }
}
