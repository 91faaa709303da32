import Foundation
import LoMAModel
import LoMATensorIO
import LoMATestSupport
import Testing

/// `lomad compress` and `lomad inspect` as real processes.
@Suite struct CommandLineTests {

    func arguments(for fixtureCase: ModelFixtureCase, output: URL) -> [String] {
        var arguments = [
            "compress", "--model", fixtureCase.modelDirectory.path, "--input", fixtureCase.input.path,
            "--output", output.path, "--position", String(fixtureCase.description.position),
            "--method", fixtureCase.description.method, "--layout", fixtureCase.description.layout,
        ]
        if let context = fixtureCase.context { arguments += ["--context", context.path] }
        return arguments
    }

    @Test func compressMatchesReferenceAndKeepsInputDType() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        // A case with context, several segments or a non-f32 input exercises the most flags.
        let cases = try fixtures.caseNames().map(fixtures.loadCase).filter { $0.method == .loma }
        let fixtureCase = try #require(cases.first { $0.description.hasContext && $0.description.inputDType != "f32" } ?? cases.first)
        let output = scratch.url.appendingPathComponent("memory.safetensors")

        let run = try CommandRun.lomad(arguments(for: fixtureCase, output: output) + ["--dtype", "f32"])
        #expect(run.status == 0, "\(run.stderr)")
        let file = try SafetensorsFile(url: output)
        try expectMatchesGolden(
            CompressionResult(keys: try file.readTensor("keys"), values: try file.readTensor("values"), positions: try file.readInt64("positions")),
            fixtureCase)

        let defaultDType = scratch.url.appendingPathComponent("default.safetensors")
        let second = try CommandRun.lomad(arguments(for: fixtureCase, output: defaultDType))
        #expect(second.status == 0, "\(second.stderr)")
        #expect(try SafetensorsFile(url: defaultDType).info("keys").dtypeName == fixtureCase.description.inputDType.uppercased())
    }

    @Test func compressReportsBadInputWithoutCrashing() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let fixtureCase = try fixtures.loadCase(try #require(try fixtures.caseNames().first))
        let truncated = try scratch.copy(fixtureCase.input)
        try ModelCorruption.truncate(truncated, keepingFraction: 0.5)
        let run = try CommandRun.lomad([
            "compress", "--model", fixtureCase.modelDirectory.path, "--input", truncated.path,
            "--output", scratch.url.appendingPathComponent("out.safetensors").path,
        ])
        #expect(run.status == 1)
        #expect(run.stderr.contains(truncated.path) && run.stderr.contains("truncated"), "\(run.stderr)")
    }

    @Test func inspectDescribesTheModel() throws {
        let run = try CommandRun.lomad(["inspect", "--model", fixtures.model("qwen2_tied").path])
        #expect(run.status == 0, "\(run.stderr)")
        let configuration = try ModelConfiguration.load(from: fixtures.model("qwen2_tied").appendingPathComponent("config.json"))
        #expect(run.stdout.contains("Qwen2ForCausalLM"))
        #expect(run.stdout.contains("segment_length \(configuration.loma.segmentLength)"))
        #expect(run.stdout.contains("weights in memory"))
    }
}
