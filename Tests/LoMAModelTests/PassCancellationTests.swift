import Foundation
import LoMAModel
import LoMATensorIO
import LoMATestSupport
import Synchronization
import Testing

/// A long pass must be stoppable between layers, so that a daemon at its shutdown deadline or a
/// request past its compute limit costs at most one more layer's work, and a stopped pass must
/// produce nothing.
@Suite struct PassCancellationTests {
    struct Stop: Error, Equatable {}

    /// Counts the checks a pass makes and stops it at the `stopAt`-th (never when nil).
    final class CountingCheck: Sendable {
        let checks = Mutex(0)
        let stopAt: Int?

        init(stopAt: Int?) { self.stopAt = stopAt }

        var cancellation: PassCancellation {
            PassCancellation { [self] in
                let count = checks.withLock { count in
                    count += 1
                    return count
                }
                return count == stopAt ? Stop() : nil
            }
        }

        var count: Int { checks.withLock { $0 } }
    }

    static func multiSegmentCase() throws -> ModelFixtureCase {
        try #require(try fixtures.caseNames().map(fixtures.loadCase).first { fixtureCase in
            fixtureCase.method == .loma && fixtureCase.description.segments > 1
        })
    }

    static func job(_ fixtureCase: ModelFixtureCase) throws -> (CompressionJob, [KVFile]) {
        let input = try KVFile(url: fixtureCase.input, layout: try #require(fixtureCase.layout))
        let context = try fixtureCase.context.map { try KVFile(url: $0) }
        let job = CompressionJob(keys: input.keys, values: input.values, contextKeys: context?.keys, contextValues: context?.values,
                                 position: fixtureCase.description.position, method: .loma)
        return (job, [input] + (context.map { [$0] } ?? []))
    }

    @Test("a pass asks before every layer of every segment, and a pass never stopped matches the reference")
    func checksEveryLayerOfEverySegment() throws {
        let fixtureCase = try Self.multiSegmentCase()
        let model = try LlamaModel.load(directory: fixtureCase.modelDirectory)
        let (job, files) = try Self.job(fixtureCase)
        let check = CountingCheck(stopAt: nil)
        let result = try #require(try model.compress([job], cancellation: check.cancellation).first)
        try expectMatchesGolden(result, fixtureCase)
        #expect(check.count == fixtureCase.description.segments * model.configuration.numHiddenLayers)
        withExtendedLifetime(files) {}
    }

    @Test("a stopped pass throws the check's own error at once and returns nothing", arguments: [1, 2, 5])
    func stopsAtTheCheckThatSaysSo(stopAt: Int) throws {
        let fixtureCase = try Self.multiSegmentCase()
        let model = try LlamaModel.load(directory: fixtureCase.modelDirectory)
        let (job, files) = try Self.job(fixtureCase)
        try #require(stopAt < fixtureCase.description.segments * model.configuration.numHiddenLayers)
        let check = CountingCheck(stopAt: stopAt)
        #expect(throws: Stop()) { try model.compress([job, job], cancellation: check.cancellation) }
        // No check after the one that stopped it: nothing more was computed.
        #expect(check.count == stopAt)
        // The model is unharmed: the next pass gives the reference result.
        try expectMatchesGolden(try #require(try model.compress([job]).first), fixtureCase)
        withExtendedLifetime(files) {}
    }
}
