/// The metrics the runtime records (through swift-metrics, which the service kit points at
/// Prometheus), and the histogram buckets the service kit configures for them: shared by both
/// sides so the names and buckets cannot drift apart.
package enum MetricName {
    package static let requests = "lomad_requests_total"
    package static let requestDuration = "lomad_request_duration_seconds"
    package static let batchSize = "lomad_batch_size"
    package static let queueDepth = "lomad_queue_depth"
    package static let busyWorkers = "lomad_busy_workers"
    package static let undeliverable = "lomad_undeliverable_replies_total"
    package static let connections = "lomad_connections"
    package static let refusedConnections = "lomad_refused_connections_total"
    package static let heldReplyBytes = "lomad_held_reply_bytes"
    package static let refusedReplies = "lomad_refused_replies_total"

    /// Request latencies from a fraction of a millisecond (health, stats) to seconds (large passes).
    package static let latencyBuckets: [Duration] = [
        .microseconds(100), .microseconds(250), .microseconds(500), .milliseconds(1), .microseconds(2500),
        .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50), .milliseconds(100),
        .milliseconds(250), .milliseconds(500), .seconds(1), .milliseconds(2500), .seconds(5), .seconds(10),
    ]
    package static let batchSizeBuckets: [Double] = [1, 2, 4, 8, 16, 32, 64, 128, 255]
}
