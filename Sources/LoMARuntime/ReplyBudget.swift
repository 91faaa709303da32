import CoreMetrics
import Synchronization
import ZeroMQ

/// Counts the bytes of reply frames libzmq holds for clients: from the broker's send until libzmq
/// has written them to the connection or dropped them (the client left, or its queue was full).
/// A small request can ask for a large reply (a 7-byte read_memory for a megabyte of memory),
/// and a client that never reads leaves its replies in libzmq's queue for it, where nothing else
/// counts them; past `limits.max_reply_bytes` the broker answers RESOURCE_EXHAUSTED instead.
///
/// Frames are handed to libzmq zero-copy with a release callback, which libzmq calls from its
/// I/O thread once it no longer needs the bytes, so the count is exact rather than an estimate.
final class ReplyBudget: Sendable {
    /// A lock rather than an atomic so that the gauge is set in the same order as the count
    /// changes, from the broker thread and libzmq's I/O thread alike: the last update wins.
    private let held = Mutex<Int>(0)
    private let refusals = Atomic<UInt64>(0)
    private let heldGauge = Gauge(label: MetricName.heldReplyBytes)
    private let refusedCounter = Counter(label: MetricName.refusedReplies)

    /// Reply bytes libzmq holds now.
    var heldBytes: Int { held.withLock { $0 } }

    /// Whether `bytes` more fit within `limit`.
    func admits(_ bytes: Int, limit: Int) -> Bool {
        heldBytes + bytes <= limit
    }

    /// The frame to send in place of `frame`: the same bytes, counted until libzmq releases them.
    /// `frame` itself is kept alive until then, since the new frame points into its memory.
    func counting(_ frame: ZMQFrame) throws -> ZMQFrame {
        let count = frame.count
        guard count > 0 else { return frame }
        change(by: count)
        let owner = HeldFrame(frame)
        return try frame.withUnsafeBytes { bytes in
            try ZMQFrame(noCopy: bytes, release: { [self] in
                withExtendedLifetime(owner) {}
                change(by: -count)
            })
        }
    }

    /// Replies answered RESOURCE_EXHAUSTED in place of what would not fit.
    var refused: UInt64 { refusals.load(ordering: .relaxed) }

    func recordRefusal() {
        refusals.add(1, ordering: .relaxed)
        refusedCounter.increment()
    }

    private func change(by bytes: Int) {
        held.withLock { held in
            held += bytes
            heldGauge.record(held)
        }
    }
}

/// The received frame whose bytes a zero-copy reply frame points at. Only the release callback
/// touches it, exactly once, after the broker has let go of it; hence unchecked.
private final class HeldFrame: @unchecked Sendable {
    let frame: ZMQFrame
    init(_ frame: ZMQFrame) { self.frame = frame }
}
