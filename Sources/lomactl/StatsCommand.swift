import ArgumentParser
import LoMAClient
import LoMAProtocol

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show request counts, queue depth and uptime.")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let stats = try await withClient(connection) { try await $0.stats() }
        if connection.json {
            try printJSON(stats)
            return
        }
        print("uptime \(formatDuration(stats.uptimeSeconds)), queue \(stats.queueDepth), " +
              "workers \(stats.busyWorkers)/\(stats.workers) busy, undeliverable replies \(stats.undeliverableReplies)")
        for operation in stats.operations {
            let counts = operation.statuses.map { "\($0.code.name)=\($0.count)" }.joined(separator: " ")
            print("  \(operation.operation): \(counts)")
        }
        for batch in stats.batchSizes {
            print("  batch size \(batch.batchSize): \(batch.count)")
        }
        if stats.hasStore {
            let store = stats.store
            print("store (\(store.mode)): \(store.sequences) sequences, \(store.prefixEntries) prefix chunks")
            print("  ram: \(formatBytes(store.ramBytes)) of \(formatBytes(store.ramBudgetBytes)) in \(store.ramSegments) segments, " +
                  "\(store.ramEvictions) evictions, \(store.ramHits) hits, \(store.ramMisses) misses")
            if store.mode == "durable" {
                print("  disk: \(formatBytes(store.durableSegmentBytes)) in \(store.durableSegments) segments, " +
                      "file \(formatBytes(store.durableFileBytes)) of map \(formatBytes(store.mapSizeBytes))")
            }
        }
    }
}
