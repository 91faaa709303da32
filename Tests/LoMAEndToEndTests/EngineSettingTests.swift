import Foundation
import LoMAClient
import LoMAModel
import LoMAProtocol
import LoMATestSupport
import Testing

/// The daemon's `engine.kernel` and `engine.weights` settings reach the engine: each kernel this
/// CPU runs, forced by its flag, serves the golden case, and a kernel it lacks stops the start.
@Suite("engine settings through a real lomad process")
struct EngineSettingTests {
    static let fixtures = RepositoryPaths.modelFixtures

    @Test("a daemon forced onto each kernel serves the golden case", arguments: EngineOptions.supportedKernels)
    func forcedKernel(_ kernel: EngineOptions.Kernel) async throws {
        let fixtureCase = try Self.fixtures.loadCase(try #require(try Self.fixtures.caseNames().first))
        let daemon = try DaemonProcess(arguments: ["--model", "m=\(fixtureCase.modelDirectory.path)",
                                                   "--engine-kernel", kernel.rawValue, "--engine-weights", "f32"])
        let client = try LoMAClient(endpoint: try Endpoint(daemon.endpoint), timeout: .seconds(60), retries: 0)
        let memory = try await FixturePayload.compress(fixtureCase, client: client, model: "m")
        let expected = try KVFileComparison.expected(fixtureCase.expected)
        #expect(KVFileComparison.relativeError(FixturePayload.float32(memory.keys), expected.keys) < 1e-4)
        #expect(KVFileComparison.relativeError(FixturePayload.float32(memory.values), expected.values) < 1e-4)
    }

    @Test("a kernel this CPU lacks, or a misspelt one, is refused before serving")
    func refusedKernel() throws {
        let refused = ["avx-512"] + [EngineOptions.Kernel.avx512, .avx2].filter { !EngineOptions.supportedKernels.contains($0) }.map(\.rawValue)
        for name in refused {
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("lomad-engine-\(UUID().uuidString).txt")
            defer { try? FileManager.default.removeItem(at: output) }
            _ = FileManager.default.createFile(atPath: output.path, contents: nil)
            let process = Process()
            process.executableURL = DaemonProcess.executable("lomad")
            process.arguments = ["serve", "--engine-kernel", name, "--print-config"]
            process.standardError = try FileHandle(forWritingTo: output)
            process.standardOutput = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            let message = try String(contentsOf: output, encoding: .utf8)
            #expect(process.terminationStatus == 78, "\(name): exit \(process.terminationStatus)")
            #expect(message.contains("engine.kernel"), "\(name): \(message)")
        }
    }
}
