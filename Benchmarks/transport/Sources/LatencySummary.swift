/// Percentiles of round-trip samples, nearest-rank, the same definition as the C baseline so
/// the two columns compare like with like.
struct LatencySummary {
    let p50Microseconds: Double
    let p99Microseconds: Double

    init(samples: [Duration]) {
        let sorted = samples.map(Self.microseconds).sorted()
        p50Microseconds = Self.percentile(sorted, 0.50)
        p99Microseconds = Self.percentile(sorted, 0.99)
    }

    static func microseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1e6 + Double(attoseconds) * 1e-12
    }

    private static func percentile(_ sorted: [Double], _ fraction: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let rank = max(1, Int((fraction * Double(sorted.count)).rounded(.up)))
        return sorted[min(rank, sorted.count) - 1]
    }
}
