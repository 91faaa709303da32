import Foundation
import LoMAModel
import LoMATensorIO
import LoMATestSupport
import Testing

/// One `compress` call over many jobs must give each job exactly what it gets alone; that is
/// what lets the server stack requests into the same matrix products.
@Suite struct BatchedPassTests {
    /// All golden cases of one model, grouped (several segments, contexts and methods mixed).
    static func casesByModel() throws -> [String: [ModelFixtureCase]] {
        Dictionary(grouping: try fixtures.caseNames().map(fixtures.loadCase), by: \.description.model)
    }

    @Test func batchOfEveryCaseOfAModelMatchesReference() throws {
        var batchedAtLeastTwo = false
        for (modelName, cases) in try Self.casesByModel() {
            let model = try LlamaModel.load(directory: fixtures.model(modelName))
            var files: [KVFile] = []
            var jobs: [CompressionJob] = []
            // Each case twice, so even a model with one case gets a real batch.
            for fixtureCase in cases + cases {
                let input = try KVFile(url: fixtureCase.input, layout: try #require(fixtureCase.layout))
                let context = try fixtureCase.context.map { try KVFile(url: $0) }
                files += [input] + (context.map { [$0] } ?? [])
                jobs.append(CompressionJob(
                    keys: input.keys, values: input.values, contextKeys: context?.keys, contextValues: context?.values,
                    position: fixtureCase.description.position, method: try #require(fixtureCase.method)))
            }
            batchedAtLeastTwo = batchedAtLeastTwo || jobs.count >= 2
            let results = try model.compress(jobs)
            #expect(results.count == jobs.count)
            for (result, fixtureCase) in zip(results, cases + cases) {
                try expectMatchesGolden(result, fixtureCase)
            }
            withExtendedLifetime(files) {}
        }
        #expect(batchedAtLeastTwo)
    }

    @Test func concurrentCallsOnOneModelAgree() throws {
        let fixtureCase = try #require(try fixtures.caseNames().map(fixtures.loadCase).first { $0.method == .loma && $0.description.hasContext })
        let model = try LlamaModel.load(directory: fixtureCase.modelDirectory)
        let expected = try KVFileComparison.expected(fixtureCase.expected)
        let errors = ErrorCollector()
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do {
                let result = try compressCase(fixtureCase, model: model)
                errors.record(max(KVFileComparison.relativeError(result.keys, expected.keys),
                                  KVFileComparison.relativeError(result.values, expected.values)))
            } catch {
                errors.record(.infinity)
            }
        }
        #expect(errors.values.count == 8)
        #expect(errors.values.allSatisfy { $0 < 1e-4 }, "\(errors.values)")
    }
}

/// Collects results from concurrent work.
final class ErrorCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var storage: [Double] = []

    func record(_ value: Double) {
        lock.lock()
        storage.append(value)
        lock.unlock()
    }

    var values: [Double] {
        lock.lock()
        defer { lock.unlock() }
        return storage
    }
}
