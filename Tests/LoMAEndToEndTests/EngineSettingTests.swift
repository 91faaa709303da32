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
            let run = try CommandRun.run("lomad", ["serve", "--engine-kernel", name, "--print-config"])
            #expect(run.status == 78, "\(name): exit \(run.status)")
            #expect(run.stderr.contains("engine.kernel"), "\(name): \(run.stderr)")
        }
    }
}
