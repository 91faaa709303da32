import ArgumentParser
import Foundation
import LoMAClient
import LoMAProtocol

struct Stats: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show request counts and latencies, batch sizes, queue depth, store tiers and model load times.")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let (stats, health) = try await withClient("stats", connection) { (try await $0.stats(), try await $0.health()) }
        if connection.json {
            try printJSON(stats.jsonObject)
            return
        }
        print("uptime \(formatDuration(stats.uptimeSeconds)), queue \(stats.queueDepth), " +
              "workers \(stats.busyWorkers)/\(stats.workers) busy, requests hold \(formatBytes(stats.heldRequestBytes)), " +
              "undeliverable replies \(stats.undeliverableReplies)")
        print("connections \(stats.connections) (refused \(stats.refusedConnections)), " +
              "unread replies hold \(formatBytes(stats.heldReplyBytes)) (refused \(stats.refusedReplies))")
        for operation in stats.operations {
            let counts = operation.statuses.map { "\($0.code.name)=\($0.count)" }.joined(separator: " ")
            print("  \(operation.operation): \(counts)\(LatencySummary(operation).map { ", latency \($0)" } ?? "")")
        }
        for batch in stats.batchSizes {
            print("  batch size \(batch.batchSize): \(batch.count)")
        }
        for model in health.models {
            print("model \(model.name): loaded in \(formatDuration(model.loadSeconds))")
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
            if !store.sharedTier.isEmpty {
                print("  shared: \(store.sharedTier) \(store.sharedTierUp ? "up" : "DOWN"), \(store.sharedReadThroughs) read-throughs, " +
                      "\(store.sharedLocalFallbacks) local fallbacks, \(store.sharedConflicts) conflicts, " +
                      "\(store.sharedUnavailableWrites) writes refused unavailable")
            }
        }
        let tenant = stats.tenant
        print("tenant \(tenant.name): \(formatBytes(tenant.bytes)) stored" +
              (tenant.quotaBytes > 0 ? " of a \(formatBytes(tenant.quotaBytes)) quota" : ", no quota"))
    }
}

/// Mean and quantiles of an operation's latency histogram. Quantiles are the upper bound of the
/// bucket they fall in, which is what a histogram can say.
struct LatencySummary: CustomStringConvertible {
    let mean: Double
    let p50: Double?
    let p99: Double?

    init?(_ operation: Loma_V1_OperationStats) {
        let total = operation.latencyCounts.reduce(0, +)
        guard total > 0 else { return nil }
        mean = operation.latencySumSeconds / Double(total)
        func quantile(_ q: Double) -> Double? {
            var seen: UInt64 = 0
            for (index, count) in operation.latencyCounts.enumerated() {
                seen += count
                if Double(seen) >= q * Double(total) {
                    return index < operation.latencyUpperSeconds.count ? operation.latencyUpperSeconds[index] : nil
                }
            }
            return nil
        }
        p50 = quantile(0.5)
        p99 = quantile(0.99)
    }

    var description: String {
        func bound(_ value: Double?) -> String { value.map { "<= " + formatSeconds($0) } ?? "beyond the last bucket" }
        return "mean \(formatSeconds(mean)), p50 \(bound(p50)), p99 \(bound(p99))"
    }
}

func formatSeconds(_ seconds: Double) -> String {
    seconds < 1e-3 ? String(format: "%.0f us", seconds * 1e6)
        : seconds < 1 ? String(format: "%.1f ms", seconds * 1e3) : String(format: "%.2f s", seconds)
}
