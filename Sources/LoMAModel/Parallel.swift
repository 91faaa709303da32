import Foundation
import Synchronization

/// The engine's own threading for the products and the row-wise loops. The pass is a handful
/// of large operations per layer, so splitting each one into more chunks than threads and
/// letting Dispatch hand them out keeps both cores busy even when another process takes one
/// of them for a while (a fixed split would wait for the slower half).
enum Parallel {
    /// Threads used by `forEach`; 0 means one per active core. Set through `BLAS.setThreadCount`.
    static let requestedThreads = Atomic<Int>(0)

    /// Read once: Foundation's count reads cgroup files on Linux, too slow for every product.
    private static let activeCores = ProcessInfo.processInfo.activeProcessorCount

    static var threadCount: Int {
        let requested = requestedThreads.load(ordering: .relaxed)
        return requested > 0 ? requested : activeCores
    }

    /// Work below which a chunk is not worth handing to another thread: waking a worker costs
    /// microseconds, and on a loaded machine far more, which swamps the tiny products of small
    /// models (measured: 17x slower per pass on the 41 KiB test models without this floor).
    static let minimumWorkPerChunk = 1 << 18

    /// Chunk size (in items of `workPerItem` units each) that keeps every chunk above
    /// `minimumWorkPerChunk`.
    static func minimumChunk(workPerItem: Int) -> Int {
        max(1, minimumWorkPerChunk / max(1, workPerItem))
    }

    /// Splits `0..<count` into contiguous ranges (several per thread, none below `minimumChunk`
    /// items) and runs `body` on each, in parallel when more than one thread is allowed and
    /// there is more than one chunk. Returns when all have run.
    static func forEach(_ count: Int, minimumChunk: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
        let threads = threadCount
        let chunks = min(max(1, count / max(1, minimumChunk)), threads == 1 ? 1 : threads * 8)
        guard chunks > 1 else {
            if count > 0 { body(0..<count) }
            return
        }
        DispatchQueue.concurrentPerform(iterations: chunks) { chunk in
            body((count * chunk / chunks)..<(count * (chunk + 1) / chunks))
        }
    }
}
