import ArgumentParser
import LoMARuntime
import LoMAService

@main
struct Lomad: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lomad",
        abstract: "LoMA KV-cache compression daemon: a shared compressed-memory store served over ZeroMQ.",
        version: DaemonVersion.current,
        subcommands: [Serve.self, Compress.self, Inspect.self],
        defaultSubcommand: Serve.self
    )
}
