import ArgumentParser

@main
struct Lomactl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lomactl",
        abstract: "Talk to a running lomad daemon.",
        discussion: ExitStatus.help,
        subcommands: [Health.self, Models.self, Stats.self, Compress.self, Memory.self, Sequences.self, Fork.self, Delete.self,
                      Prefix.self, Keygen.self]
    )
}
