import Foundation
import LoMAService
import LoMATestSupport
import Testing

/// Each setting declared once (issue 15): one line in `ServiceSettings.keys` gives the TOML key,
/// the flag, the `LOMAD_*` variable, the check, reloadability and what `--print-config` writes.
/// These tests run over `ServiceSettings.keys`, so a new declaration is covered without a line
/// here; `ServiceConfigurationTests` checks the same through a real `lomad serve`.
@Suite("Settings: every key from one declaration, through every source")
struct SettingDeclarationTests {
    @Test("every key has its own TOML name, flag and LOMAD_* variable")
    func declarationsAreDistinct() {
        let keys = ServiceSettings.keys
        #expect(Set(keys.map(\.name)).count == keys.count)
        #expect(Set(keys.map(\.flag.name)).count == keys.count, "two keys declare the same flag")
        #expect(Set(keys.map(\.environmentVariable)).count == keys.count)
        for reserved in ["config", "print-config", "set", "help"] {
            #expect(!keys.contains { $0.flag.name == reserved }, "--\(reserved) belongs to lomad serve itself")
        }
    }

    /// The settings a key's value gives through one source, over a context that makes every key
    /// usable (store.directory needs store.mode = "durable").
    private struct Probe {
        let key: SettingKey
        let context: URL
        let scratch: TemporaryDirectory

        init(_ key: SettingKey) throws {
            self.key = key
            scratch = try TemporaryDirectory("lomad-setting")
            context = scratch.url.appendingPathComponent("context.toml")
            try (key.name == "store.mode" ? "" : "store.mode = \"durable\"\n").write(to: context, atomically: true, encoding: .utf8)
        }

        func viaFlags(_ arguments: [String]) throws -> ServiceSettings {
            try ServiceSettings.resolve(file: context, flags: try ServiceSettings.assignments(flags: arguments))
        }

        /// A text this key accepts that changes it: its switch's value, else the first candidate
        /// that `--set` takes and that differs from the default.
        func example() throws -> (text: String, settings: ServiceSettings)? {
            let base = try ServiceSettings.resolve(file: context)
            let candidates = key.flag.fixedValue.map { [$0] } ?? ["3", "2", "1", "0", "0.5", "durable", "int8", "debug", "0640",
                                                                  "127.0.0.1:9464", "lomad-test", "/tmp/lomad-setting-test",
                                                                  "tcp://127.0.0.1:5999", "redis://127.0.0.1:6379/0", "f32", "portable"]
            for text in candidates {
                guard let settings = try? ServiceSettings.resolve(
                    file: context, flags: try ServiceSettings.assignments(sets: ["\(key.name)=\(text)"], flags: [])),
                    key.value(in: settings) != key.value(in: base) else { continue }
                return (text, settings)
            }
            return nil
        }
    }

    @Test("a key's value reads the same from the file, its flag, --set and LOMAD_*, and --print-config keeps it",
          arguments: ServiceSettings.keys.map(\.name))
    func everySourceOfOneKey(name: String) throws {
        let key = try #require(ServiceSettings.key(named: name))
        let probe = try Probe(key)
        defer { probe.scratch.remove() }
        let (text, expected) = try #require(try probe.example(), "no candidate value changes \(name); add one to Probe.example")

        let flagArguments = key.flag.fixedValue == nil ? [key.flag.spelling, text] : [key.flag.spelling]
        #expect(try probe.viaFlags(flagArguments) == expected, "\(key.flag.spelling)")
        if key.flag.fixedValue == nil {
            #expect(try probe.viaFlags(["\(key.flag.spelling)=\(text)"]) == expected, "\(key.flag.spelling)=")
        }
        let environment = [key.environmentVariable: text]
        #expect(try ServiceSettings.resolve(file: probe.context, environment: environment) == expected, "\(key.environmentVariable)")

        let file = probe.scratch.url.appendingPathComponent("file.toml")
        let contextText = try String(contentsOf: probe.context, encoding: .utf8)
        try (contextText + "\(key.name) = \(key.value(in: expected))\n").write(to: file, atomically: true, encoding: .utf8)
        #expect(try ServiceSettings.resolve(file: file) == expected, "the file")

        let printed = probe.scratch.url.appendingPathComponent("printed.toml")
        try expected.tomlText.write(to: printed, atomically: true, encoding: .utf8)
        #expect(try ServiceSettings.resolve(file: printed) == expected, "--print-config's text")
        #expect(expected.tomlText.contains("# \(key.summary)\(key.reloadable ? " (reload)" : "")\n"))
        #expect(ServiceSettings.flagHelp.contains("\(key.flag.spelling) "), "--help lacks \(key.flag.spelling)")
        #expect(expected.changedKeys(comparedTo: try ServiceSettings.resolve(file: probe.context)).map(\.name) == [name])
    }

    @Test("the command line reads through the declared flags: --NAME VALUE, --NAME=VALUE, switches, repeated list flags")
    func commandLineAssignments() throws {
        let assignments = try ServiceSettings.assignments(
            sets: ["threads.blas=2"],
            flags: ["--queue-depth", "7", "--workers=3", "--durable", "--endpoint", "tcp://127.0.0.1:1", "--endpoint=ipc:///tmp/a"])
        #expect(assignments == [
            SettingAssignment(flag: "--set threads.blas=2", key: "threads.blas", text: "2"),
            SettingAssignment(flag: "--queue-depth", key: "limits.queue_depth", text: "7"),
            SettingAssignment(flag: "--workers", key: "threads.workers", text: "3"),
            SettingAssignment(flag: "--durable", key: "store.mode", text: "durable"),
            SettingAssignment(flag: "--endpoint", key: "endpoints", text: "tcp://127.0.0.1:1"),
            SettingAssignment(flag: "--endpoint", key: "endpoints", text: "ipc:///tmp/a"),
        ])
        let settings = try ServiceSettings.resolve(file: nil, flags: assignments)
        #expect(settings.endpoints == ["tcp://127.0.0.1:1", "ipc:///tmp/a"] && settings.blasThreads == 2)
        for (arguments, problem) in [(["--nope"], "no such option"), (["--workers"], "--workers needs a value"),
                                     (["--store-int8=yes"], "--store-int8 takes no value"), (["3"], "unexpected argument")] {
            let error = try #require(throws: SettingsError.self) { try ServiceSettings.assignments(flags: arguments) }
            #expect(error.problem.contains(problem), "\(arguments): \(error)")
        }
    }
}
