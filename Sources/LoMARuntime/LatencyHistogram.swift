/// Request latencies counted in the buckets of the Prometheus histogram, so `lomactl stats`
/// and `/metrics` describe the same distribution.
struct LatencyHistogram {
    static var bounds: [Duration] { MetricName.latencyBuckets }

    /// One count per bound, plus one for latencies above the last.
    private(set) var counts = [UInt64](repeating: 0, count: MetricName.latencyBuckets.count + 1)
    private(set) var sum = Duration.zero

    mutating func record(_ latency: Duration) {
        counts[Self.bounds.firstIndex { latency <= $0 } ?? Self.bounds.count] += 1
        sum += latency
    }
}
