import Foundation
import Logging
import LoMASharedTier
import LoMAStore
import Redis

/// Builds the store's shared tier (Redis/Valkey) from the settings, with its state changes logged
/// and counted. The daemon starts even when Redis is down: the tier reconnects with backoff and
/// writes that need it answer `unavailable` meanwhile.
enum SharedTierSetup {
    /// nil when no `store.redis_url` or `store.redis_cluster` is configured.
    static func make(_ settings: ServiceSettings, models: [String: URL], metrics: ServiceMetrics?,
                     logger: Logger) throws -> RedisSharedTier? {
        let urls = try settings.storeRedisURLs.map { try RedisURL(parsing: $0) }
        let clusterNodes = try settings.storeRedisCluster.flatMap { $0.split(separator: ",") }.map { try RedisNode(parsing: String($0)) }
        let topology: RedisClientConfiguration.Topology
        if !clusterNodes.isEmpty {
            let credentials = urls.first
            topology = .cluster(clusterNodes.map { RedisURL(node: $0, user: credentials?.user, password: credentials?.password) })
        } else if urls.count > 1 {
            topology = .cluster(urls)
        } else if let url = urls.first {
            topology = .single(url)
        } else {
            return nil
        }
        let events = RedisClientEvents(
            nodeStateChanged: { node, up, reason in
                metrics?.recordSharedTier(up: up)
                if up {
                    logger.info("shared tier node up", metadata: ["node": "\(node)", "reason": "\(reason)"])
                } else {
                    logger.warning("shared tier node down", metadata: ["node": "\(node)", "reason": "\(reason)"])
                }
            },
            callCompleted: { duration, succeeded in metrics?.recordSharedTierCall(duration: duration, succeeded: succeeded) },
            topologyRefreshed: { nodes in logger.info("shared tier cluster slot map loaded", metadata: ["masters": "\(nodes)"]) })
        let configuration = RedisClientConfiguration(topology: topology, timeout: .milliseconds(settings.storeRedisTimeoutMilliseconds),
                                                     poolSize: settings.workers + 2)
        let client = RedisClient(configuration: configuration, events: events)
        let identities = ModelIdentities(models.reduce(into: [:]) { $0[$1.key] = ModelIdentities.identity(name: $1.key, directory: $1.value) })
        let described: String = switch topology {
        case .single(let url): url.description
        case .cluster(let seeds): "cluster " + seeds.map(\.node.description).joined(separator: ",")
        }
        do {
            _ = try client.execute([Array("PING".utf8)], key: nil)
            metrics?.recordSharedTier(up: true)
            logger.info("shared tier connected", metadata: ["redis": "\(described)"])
        } catch {
            metrics?.recordSharedTier(up: false)
            logger.warning("shared tier unreachable at start; serving local data, writes answer unavailable until it is back",
                           metadata: ["redis": "\(described)", "error": "\(error)"])
        }
        return RedisSharedTier(client: client, models: identities)
    }
}
