import Foundation
import LoMAStore
import Synchronization
import Testing

@Suite("Concurrency")
struct ConcurrencyTests {
    @Test("Threads appending to one sequence with optimistic checks never lose or reorder an append", arguments: StoreKind.allCases)
    func concurrentAppends(kind: StoreKind) throws {
        let harness = try TestStore(kind)
        defer { harness.finish() }
        let store = harness.store
        let threads = 6
        let appendsPerThread = 8
        let conflicts = Atomic<Int>(0)
        let failures = Mutex<[String]>([])

        runOnThreads(threads) { thread in
            for round in 0..<appendsPerThread {
                while true {
                    do {
                        // The compress path: read the base, compute (here: build a segment), append.
                        let base = (try? store.sequenceInfo(sequence: "shared"))
                        let segment = try TestSegments.make(sourceStart: base?.nextPosition ?? 0, seed: UInt64(thread * 100 + round))
                        try store.append(sequence: "shared", model: TestSegments.model, segments: [segment],
                                         expectedSegmentCount: base?.segmentCount ?? 0)
                        break
                    } catch let error as StoreError where error.kind == .failedPrecondition {
                        conflicts.add(1, ordering: .relaxed)
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                        return
                    }
                }
                // Readers run alongside the writers.
                _ = try? store.read(sequence: "shared")
            }
        }

        #expect(failures.withLock { $0 }.isEmpty)
        let info = try store.sequenceInfo(sequence: "shared")
        #expect(info.segmentCount == threads * appendsPerThread)
        let segments = try store.read(sequence: "shared")
        #expect(zip(segments, segments.dropFirst()).allSatisfy { $0.sourceEnd == $1.sourceStart })
        #expect(info.nextPosition == Int64(threads * appendsPerThread * 16))
        if kind == .durable {
            let digest = try store.digest()
            try harness.reopen()
            #expect(try harness.store.digest() == digest)
        }
    }

    /// Each worker holds at most 3 segments (2 appended, 1 published), so 4 workers fit in 12.
    @Test("Threads working on their own sequences and prefixes do not disturb each other", arguments: StoreKind.allCases)
    func independentWork(kind: StoreKind) throws {
        let harness = try TestStore(kind, ramBudgetBytes: try TestSegments.encodedBytes() * 12)
        defer { harness.finish() }
        let store = harness.store
        let failures = Mutex<[String]>([])
        runOnThreads(4) { thread in
            do {
                let name = "worker-\(thread)"
                let segments = try TestSegments.run(from: 0, count: 2, seed: UInt64(thread))
                try store.append(sequence: name, model: TestSegments.model, segments: segments)
                try store.fork(source: name, destination: name + "-fork")
                try store.publishPrefix(model: TestSegments.model, chunkHashes: TestSegments.chunkHashes(1, salt: UInt8(thread)),
                                        segments: [segments[0]])
                guard try store.read(sequence: name + "-fork") == segments else {
                    failures.withLock { $0.append("\(name): fork differs") }
                    return
                }
                try store.delete(sequence: name)
            } catch {
                failures.withLock { $0.append("worker \(thread): \(error)") }
            }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        #expect(try store.list().map(\.name) == (0..<4).map { "worker-\($0)-fork" })
        #expect(store.statistics.prefixEntries == 4)
    }

    /// Runs `body` on `count` OS threads at once and waits for all of them.
    private func runOnThreads(_ count: Int, _ body: @escaping @Sendable (Int) -> Void) {
        let finished = DispatchSemaphore(value: 0)
        for index in 0..<count {
            Thread {
                body(index)
                finished.signal()
            }.start()
        }
        for _ in 0..<count { finished.wait() }
    }
}
