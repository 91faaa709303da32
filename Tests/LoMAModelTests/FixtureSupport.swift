import Foundation
import LoMAModel
import LoMATensorIO
import LoMATestSupport
import Testing

/// The fixtures bundled with this test target.
let fixtures = ModelFixtures(root: Bundle.module.bundleURL.appendingPathComponent("Fixtures"))

/// Runs a golden case through the engine in-process.
func compressCase(_ fixtureCase: ModelFixtureCase, model: LlamaModel) throws -> CompressionResult {
    let input = try KVFile(url: fixtureCase.input, layout: try #require(fixtureCase.layout))
    let context = try fixtureCase.context.map { try KVFile(url: $0) }
    let job = CompressionJob(
        keys: input.keys, values: input.values, contextKeys: context?.keys, contextValues: context?.values,
        position: fixtureCase.description.position, method: try #require(fixtureCase.method))
    let result = try #require(try model.compress([job]).first)
    withExtendedLifetime((input, context)) {}
    return result
}

/// Asserts a result matches a case's `expected.safetensors` (relative error < 1e-4, positions equal).
func expectMatchesGolden(_ result: CompressionResult, _ fixtureCase: ModelFixtureCase, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let expected = try KVFileComparison.expected(fixtureCase.expected)
    let keyError = KVFileComparison.relativeError(result.keys, expected.keys)
    let valueError = KVFileComparison.relativeError(result.values, expected.values)
    #expect(keyError < 1e-4, "\(fixtureCase.name): keys relative error \(keyError)", sourceLocation: sourceLocation)
    #expect(valueError < 1e-4, "\(fixtureCase.name): values relative error \(valueError)", sourceLocation: sourceLocation)
    #expect(result.positions == expected.positions, "\(fixtureCase.name): positions", sourceLocation: sourceLocation)
}
