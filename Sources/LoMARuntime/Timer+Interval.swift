import CoreMetrics

/// swift-metrics' timers take nanoseconds; the broker measures `Duration`s.
extension Timer {
    func recordInterval(_ elapsed: Duration) {
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
