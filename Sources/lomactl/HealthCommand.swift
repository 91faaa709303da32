import Foundation
import ArgumentParser
import LoMAClient
import LoMAProtocol

struct Health: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show the daemon's version, limits and models; exit 3 when no daemon answers.")

    @OptionGroup var connection: ConnectionOptions

    func run() async throws {
        let health = try await withClient("health", connection) { try await $0.health() }
        if connection.json {
            try printJSON(health.jsonObject)
            return
        }
        print("lomad \(health.version) (protocol \(health.protocolVersion)), up \(formatDuration(health.uptimeSeconds))")
        let limits = health.limits
        print("limits: frame \(formatBytes(limits.maxFrameBytes)) (hard \(formatBytes(limits.hardMaxMessageBytes))), " +
              "\(limits.maxFrames) frames, queue \(limits.queueDepth) (\(formatBytes(limits.maxQueuedBytes))), workers \(limits.workers)")
        print("connections: \(limits.maxConnections) (\(limits.maxConnectionsPerPeer) per peer), " +
              "unread replies \(formatBytes(limits.maxReplyBytes)), " +
              (limits.sharedMemoryMaxBytes > 0 ? "shared memory \(formatBytes(limits.sharedMemoryMaxBytes)) per request (ipc)"
                                                : "no shared memory"))
        print("per request: \(limits.maxSegmentsPerRequest) segments, " +
              (limits.maxComputeSeconds > 0 ? "\(limits.maxComputeSeconds) s of compute" : "no compute limit") +
              (limits.tenantQueuePercent > 0 ? "; a tenant may hold \(limits.tenantQueuePercent)% of the queue" : ""))
        print("tenant: \(health.tenant)")
        if health.models.isEmpty {
            print("models: none")
        }
        for model in health.models {
            print("model \(model.name): \(model.summary)")
        }
    }
}

extension Loma_V1_ModelInfo {
    /// What a KV file for this model must look like, each number named.
    var summary: String {
        "\(architecture), \(layers) layers, \(kvHeads) kv heads x head_dim \(headDim), " +
            "segment \(segmentLength) tokens -> \(memoryTokensPerSegment) memory tokens (ratio \(compressionRatio))"
    }
}

func formatBytes(_ bytes: UInt64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 {
        value /= 1024
        unit += 1
    }
    return unit == 0 ? "\(bytes) B" : String(format: "%.1f %@", value, units[unit])
}

func formatDuration(_ seconds: Double) -> String {
    let total = Int(seconds)
    if total < 60 { return String(format: "%.1fs", seconds) }
    if total < 3600 { return "\(total / 60)m\(total % 60)s" }
    return "\(total / 3600)h\((total % 3600) / 60)m"
}
