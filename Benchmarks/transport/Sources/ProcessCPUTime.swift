#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// CPU time of the whole process (every thread, libzmq's I/O thread included). On a shared
/// machine wall-clock latency mostly measures waiting for a core; CPU spent per round trip is
/// the steadier way to see what the Swift layer adds over plain C.
enum ProcessCPUTime {
    static func now() -> Duration {
        var usage = rusage()
        #if canImport(Glibc)
        getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)  // Glibc imports the who as an enum
        #else
        getrusage(RUSAGE_SELF, &usage)
        #endif
        return duration(usage.ru_utime) + duration(usage.ru_stime)
    }

    /// Runs `body` and returns its result with the process CPU time it took.
    static func measure<T>(_ body: () throws -> T) rethrows -> (T, Duration) {
        let start = now()
        let result = try body()
        return (result, now() - start)
    }

    private static func duration(_ time: timeval) -> Duration {
        .seconds(Int64(time.tv_sec)) + .microseconds(Int64(time.tv_usec))
    }
}
