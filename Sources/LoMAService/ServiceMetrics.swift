import CoreMetrics
import Foundation
import Logging
import LoMARuntime
import LoMAStore
import Prometheus
import Synchronization

/// The daemon's Prometheus metrics: swift-metrics as the API the broker records through, a
/// Prometheus registry behind it, and the HTTP endpoint that serves it. Off unless
/// `metrics.listen` is configured; then the broker's counters (`BrokerStats`) also feed it.
///
/// Exposed: `lomad_requests_total{operation,status}`, `lomad_request_duration_seconds{operation}`
/// (histogram, arrival at the broker to reply), `lomad_batch_size` (histogram),
/// `lomad_queue_depth`, `lomad_busy_workers`, `lomad_undeliverable_replies_total`,
/// `lomad_store_bytes{tier}`, `lomad_store_entries{tier}`, `lomad_store_sequences`,
/// `lomad_store_prefix_entries`, `lomad_store_evictions_total`, `lomad_store_reads_total{result}`
/// (`ram_hit`, `ram_miss`, `damaged`, `unverified`), `lomad_store_damaged_records`,
/// `lomad_model_load_seconds{model}`, `lomad_connections`, `lomad_refused_connections_total`,
/// `lomad_held_reply_bytes`, `lomad_refused_replies_total`, and with a shared tier
/// `lomad_shared_tier_up`, `lomad_shared_tier_errors_total`, `lomad_shared_tier_latency_seconds`,
/// `lomad_store_shared_total{event}` (`read_through`, `local_fallback`, `conflict`,
/// `unavailable_write`).
public final class ServiceMetrics: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let endpoint = Mutex<MetricsEndpoint?>(nil)
    /// Last store counters seen, so the store's running totals become counter increments.
    private let lastStoreCounters = Mutex<[String: Int]>([:])

    private init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// Makes swift-metrics report into a new Prometheus registry. Once per process.
    public static func bootstrap() -> ServiceMetrics {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.durationHistogramBuckets[MetricName.requestDuration] = MetricName.latencyBuckets
        factory.valueHistogramBuckets[MetricName.batchSize] = MetricName.batchSizeBuckets
        MetricsSystem.bootstrap(factory)
        return ServiceMetrics(registry: registry)
    }

    public func recordModelLoad(name: String, duration: Duration) {
        Gauge(label: "lomad_model_load_seconds", dimensions: [("model", name)]).record(duration.seconds)
    }

    /// Starts the HTTP endpoint. The store's figures are read on each scrape.
    public func serve(on address: ListenAddress, storeStatistics: @escaping @Sendable () -> StoreStatistics,
                      logger: Logger) throws {
        let started = try MetricsEndpoint(address: address, logger: logger) { [self] in
            record(storeStatistics())
            return registry.emitToBuffer()
        }
        endpoint.withLock { $0 = started }
        logger.info("metrics listening", metadata: ["address": "\(started.address)", "path": "/metrics"])
    }

    /// `lomad_shared_tier_up`: 1 while the shared tier (Redis) answers, 0 after a failure.
    public func recordSharedTier(up: Bool) {
        Gauge(label: "lomad_shared_tier_up").record(up ? 1 : 0)
    }

    /// `lomad_shared_tier_latency_seconds` (every call) and `lomad_shared_tier_errors_total`
    /// (calls that got no reply: down, timed out, failing over).
    public func recordSharedTierCall(duration: Duration, succeeded: Bool) {
        Timer(label: "lomad_shared_tier_latency_seconds").recordNanoseconds(
            duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        if !succeeded { Counter(label: "lomad_shared_tier_errors_total").increment() }
    }

    public func stop() {
        endpoint.withLock { $0.take() }?.stop()
    }

    private func record(_ store: StoreStatistics) {
        Gauge(label: "lomad_store_bytes", dimensions: [("tier", "ram")]).record(store.ramBytes)
        Gauge(label: "lomad_store_bytes", dimensions: [("tier", "disk")]).record(store.durableSegmentBytes)
        Gauge(label: "lomad_store_entries", dimensions: [("tier", "ram")]).record(store.ramSegments)
        Gauge(label: "lomad_store_entries", dimensions: [("tier", "disk")]).record(store.durableSegments)
        Gauge(label: "lomad_store_ram_budget_bytes").record(store.ramBudgetBytes)
        Gauge(label: "lomad_store_sequences").record(store.sequences)
        Gauge(label: "lomad_store_prefix_entries").record(store.prefixEntries)
        Gauge(label: "lomad_store_damaged_records").record(store.damagedRecords)
        let totals: [(label: String, dimensions: [(String, String)], value: Int)] = [
            ("lomad_store_evictions_total", [], store.ramEvictions),
            ("lomad_store_reads_total", [("result", "ram_hit")], store.ramHits),
            ("lomad_store_reads_total", [("result", "ram_miss")], store.ramMisses),
            // Reads refused because the stored record was damaged, and reads of records written
            // before checksums, which could not be verified.
            ("lomad_store_reads_total", [("result", "damaged")], store.damagedReads),
            ("lomad_store_reads_total", [("result", "unverified")], store.unverifiedReads),
            ("lomad_store_expired_total", [], store.expiredPurged),
            ("lomad_store_shared_total", [("event", "read_through")], store.sharedReadThroughs),
            ("lomad_store_shared_total", [("event", "local_fallback")], store.sharedLocalFallbacks),
            ("lomad_store_shared_total", [("event", "conflict")], store.sharedConflicts),
            ("lomad_store_shared_total", [("event", "unavailable_write")], store.sharedUnavailableWrites),
        ]
        lastStoreCounters.withLock { last in
            for total in totals {
                let key = total.label + total.dimensions.map { "\($0.0)=\($0.1)" }.joined()
                let increase = total.value - last[key, default: 0]
                if increase > 0 { Counter(label: total.label, dimensions: total.dimensions).increment(by: increase) }
                last[key] = total.value
            }
        }
    }
}
