import CoreMetrics
import LoMAProtocol

/// Counters the broker keeps. Only the broker thread touches them, so they need no locks; the
/// stats operation, answered by the broker itself, reads them directly. Each figure is also
/// reported through swift-metrics (Prometheus when `metrics.listen` is set, nothing otherwise),
/// so the stats operation and the metrics endpoint count the same events in one place.
struct BrokerStats {
    /// Requests finished, by operation and status code.
    private var outcomes: [Operation: [Loma_V1_StatusCode: UInt64]] = [:]
    private(set) var undeliverableReplies: UInt64 = 0
    /// Compress passes by how many requests each served.
    private var batchSizes: [Int: UInt64] = [:]
    let startedAt = ContinuousClock.now
    private var requestCounters: [Operation: [Loma_V1_StatusCode: Counter]] = [:]
    private var latencyTimers: [Operation: Timer] = [:]
    /// The same latencies for the stats operation, in the buckets the metrics endpoint uses.
    private var latencies: [Operation: LatencyHistogram] = [:]
    private let batchSizeRecorder = Recorder(label: MetricName.batchSize, aggregate: true)
    private let undeliverableCounter = Counter(label: MetricName.undeliverable)
    private let queueDepthGauge = Gauge(label: MetricName.queueDepth)
    private let busyWorkersGauge = Gauge(label: MetricName.busyWorkers)

    /// A request answered, with the time since it reached the broker.
    mutating func record(_ operation: Operation, _ code: Loma_V1_StatusCode, arrival: ContinuousClock.Instant) {
        outcomes[operation, default: [:]][code, default: 0] += 1
        let counter = requestCounters[operation]?[code] ?? Counter(label: MetricName.requests, dimensions: [
            ("operation", operation.description), ("status", code.name),
        ])
        requestCounters[operation, default: [:]][code] = counter
        counter.increment()
        let timer = latencyTimers[operation] ?? Timer(label: MetricName.requestDuration, dimensions: [("operation", operation.description)])
        latencyTimers[operation] = timer
        let elapsed = ContinuousClock.now - arrival
        timer.recordInterval(elapsed)
        latencies[operation, default: LatencyHistogram()].record(elapsed)
    }

    mutating func recordBatch(size: Int) {
        batchSizes[size, default: 0] += 1
        batchSizeRecorder.record(size)
    }

    mutating func recordUndeliverable() {
        undeliverableReplies += 1
        undeliverableCounter.increment()
    }

    /// The broker's load, sampled once per pass of its loop.
    func recordLoad(queueDepth: Int, busyWorkers: Int) {
        queueDepthGauge.record(queueDepth)
        busyWorkersGauge.record(busyWorkers)
    }

    var uptimeSeconds: Double {
        let elapsed = ContinuousClock.now - startedAt
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }

    func reply(queueDepth: Int, busyWorkers: Int, workers: Int) -> Loma_V1_StatsReply {
        var reply = Loma_V1_StatsReply()
        reply.uptimeSeconds = uptimeSeconds
        reply.queueDepth = UInt32(clamping: queueDepth)
        reply.busyWorkers = UInt32(clamping: busyWorkers)
        reply.workers = UInt32(clamping: workers)
        reply.undeliverableReplies = undeliverableReplies
        reply.operations = Operation.allCases.compactMap { operation in
            guard let statuses = outcomes[operation] else { return nil }
            var stats = Loma_V1_OperationStats()
            stats.operation = operation.description
            stats.statuses = statuses.sorted { $0.key.rawValue < $1.key.rawValue }.map { code, count in
                var entry = Loma_V1_StatusCount()
                entry.code = code
                entry.count = count
                return entry
            }
            if let histogram = latencies[operation] {
                stats.latencyUpperSeconds = LatencyHistogram.bounds.map(\.seconds)
                stats.latencyCounts = histogram.counts
                stats.latencySumSeconds = histogram.sum.seconds
            }
            return stats
        }
        reply.batchSizes = batchSizes.sorted { $0.key < $1.key }.map { size, count in
            var entry = Loma_V1_BatchSizeCount()
            entry.batchSize = UInt32(clamping: size)
            entry.count = count
            return entry
        }
        return reply
    }
}
