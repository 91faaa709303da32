import ArgumentParser
import LoMAClient
import LoMAProtocol

struct Memory: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Write a sequence's stored memory to a KV file.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "The sequence.")
    var sequence: String

    @Option(help: "Where to write keys, values and positions.")
    var output: String

    @Option(help: "First segment to read.")
    var first: Int = 0

    @Option(help: "Segments to read (0: to the end).")
    var count: Int = 0

    func run() async throws {
        try await reporting("memory") { try KVFiles.checkWritable(output) }
        let (memory, info) = try await withClient("memory", connection) {
            try await $0.readMemory(sequence: sequence, firstSegment: first, segmentCount: count, outputDType: .f32)
        }
        guard let memory else {
            print("sequence \(info.name) has no segments in that range; nothing written")
            return
        }
        try await reporting("memory") { try KVFiles.write(memory, to: output) }
        print("\(memory.segments) segment(s), \(memory.positions.count) memory tokens of \(info.name) written to \(output)")
    }
}

struct Sequences: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List stored sequences.")

    @OptionGroup var connection: ConnectionOptions

    @Option(help: "Only names starting with this.")
    var prefix: String = ""

    func run() async throws {
        let sequences = try await withClient("sequences", connection) { try await $0.listSequences(namePrefix: prefix) }
        if connection.json {
            try printJSON(sequences.map(\.jsonObject))
            return
        }
        print("name\tmodel\tsegments\tmemory_tokens\tnext_position\tbytes")
        for sequence in sequences {
            print("\(sequence.name)\t\(sequence.model)\t\(sequence.segments)\t\(sequence.memoryTokens)\t\(sequence.nextPosition)\t\(sequence.bytes)")
        }
    }
}

struct Fork: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Copy a sequence (copy-on-write) under a new name.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "Existing sequence.") var source: String
    @Argument(help: "New sequence.") var destination: String

    func run() async throws {
        let info = try await withClient("fork", connection) { try await $0.forkSequence(source: source, destination: destination) }
        print("forked \(source) -> \(info.name) (\(info.segments) segments)")
    }
}

struct Delete: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Delete a sequence.")

    @OptionGroup var connection: ConnectionOptions

    @Argument(help: "The sequence.") var sequence: String

    func run() async throws {
        try await withClient("delete", connection) { try await $0.deleteSequence(sequence) }
        print("deleted \(sequence)")
    }
}
