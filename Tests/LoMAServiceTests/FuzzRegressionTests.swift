import Foundation
import LoMAService
import LoMATestSupport
import Testing

/// Inputs the fuzz targets (Fuzz/, docs/fuzzing.md) found to crash lomad, fed to the same code
/// through its normal API. The inputs live in Fuzz/Regressions/<target>/, where every fuzz run
/// also replays them.
@Suite("fuzz regressions: inputs that once crashed lomad")
struct FuzzRegressionTests {
    /// A `lomad.toml` input of the config target: the first byte picks the parser (odd for TOML),
    /// the rest is the file.
    private func tomlFile(_ name: String, in directory: TemporaryDirectory) throws -> URL {
        let input = try Data(contentsOf: RepositoryPaths.root.appendingPathComponent("Fuzz/Regressions/config/\(name)"))
        try #require(input.first.map { $0 & 1 == 1 } == true, "Fuzz/Regressions/config/\(name) is not a lomad.toml input")
        let url = directory.url.appendingPathComponent("lomad.toml")
        try input.dropFirst().write(to: url)
        return url
    }

    /// TOMLKit's parser (toml++), which lomad used before its own Swift decoder (module TOML),
    /// asserted (SIGABRT, in release builds too) on a `[` that no table name follows (a control
    /// character, `é`, the end of the line) and on a `}` where an array element belongs, and read
    /// the file as a C string, silently dropping everything after a NUL. Each must be a settings
    /// error naming the file and the place.
    @Test("lomad.toml files TOMLKit could not take are refused with the line and column at fault",
          arguments: [
              ("toml-table-header-control-character", "line 3, column 2: expected a key, found control character U+0001"),
              ("toml-table-header-non-ascii", "line 1, column 2: expected a key, found 'é'"),
              ("toml-table-header-alone", "line 2, column 2: expected a key, found control character U+000D"),
              ("toml-nul-cuts-file", "line 2, column 16: expected the end of the line, found control character U+0000"),
              ("toml-array-closing-brace-minimal", "line 1, column 14: expected a value, found '}'"),
              ("toml-array-closing-brace", "line 12, column 11: expected a value, found '}'"),
          ])
    func unparseableTOML(name: String, problem: String) throws {
        let scratch = try TemporaryDirectory("lomad-fuzz")
        defer { scratch.remove() }
        let url = try tomlFile(name, in: scratch)
        #expect {
            try ServiceSettings.resolve(file: url)
        } throws: { error in
            guard let error = error as? SettingsError else { return false }
            return error.source == .file(url.path) && error.problem == "not valid TOML at \(problem)"
        }
    }

    @Test("tabs, CRLF line ends and table names a key may start with still parse")
    func parseableTOMLStillParses() throws {
        let scratch = try TemporaryDirectory("lomad-fuzz")
        defer { scratch.remove() }
        let url = scratch.url.appendingPathComponent("lomad.toml")
        try Data("[ store ]\r\n\tmode = \"durable\"\r\n[\"log\"]\nlevel = \"debug\"\n[threads]\nworkers = 3\n".utf8).write(to: url)
        let settings = try ServiceSettings.resolve(file: url)
        #expect(settings.storeMode == .durable)
        #expect(settings.workers == 3)
        #expect(ServiceSettings.key(named: "log.level")?.value(in: settings) == .string("debug"))
    }
}
