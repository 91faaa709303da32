#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns SIGTERM and SIGINT into a call on a thread of its own. The signals are blocked in every
/// thread and taken with `sigwait`, so the action may do anything a normal thread may (a handler
/// installed with `signal` may only call async-signal-safe functions).
public enum SignalWatcher {
    /// Must be called before any other thread starts, so that all of them inherit the mask.
    public static func onTermination(_ action: @escaping @Sendable (Int32) -> Void) {
        var signals = sigset_t()
        sigemptyset(&signals)
        sigaddset(&signals, SIGTERM)
        sigaddset(&signals, SIGINT)
        pthread_sigmask(SIG_BLOCK, &signals, nil)
        let mask = signals
        _ = JoinableThread(name: "lomad-signals") {
            var signals = mask
            while true {
                var received: Int32 = 0
                if sigwait(&signals, &received) == 0 {
                    action(received)
                }
            }
        }
    }
}
