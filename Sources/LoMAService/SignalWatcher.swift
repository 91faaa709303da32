#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import LoMARuntime

/// Turns SIGTERM and SIGINT (stop) and SIGHUP (reload the configuration) into calls on a thread
/// of its own, where the actions may do anything a normal thread may.
///
/// Libraries start threads of their own before `main` (OpenBLAS starts its pool when it is
/// loaded), and those do not block these signals, so `sigwait` alone would leave the signal's
/// default action, which kills the process, to whichever thread the kernel picks. Instead a
/// handler, installed for the whole process, writes the signal number to a pipe (`write` is
/// async-signal-safe) and the watcher thread reads the pipe. The daemon's own threads block the
/// signals, so a broker or worker blocked in libzmq is never interrupted (EINTR).
public enum SignalWatcher {
    /// Must be called before the daemon starts its threads, so that they inherit the mask.
    public static func watch(onTermination: @escaping @Sendable (Int32) -> Void,
                             onReload: @escaping @Sendable () -> Void) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else {
            preconditionFailure("cannot create the signal pipe: \(String(cString: strerror(errno)))")
        }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        _ = fcntl(fds[1], F_SETFD, FD_CLOEXEC)
        signalPipeWriter = fds[1]
        let readEnd = fds[0]

        var signals = sigset_t()
        sigemptyset(&signals)
        for signal in watched { sigaddset(&signals, signal) }
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = forwardSignal
        #else
        action.__sigaction_u.__sa_handler = forwardSignal
        #endif
        action.sa_flags = SA_RESTART
        for signal in watched { sigaction(signal, &action, nil) }
        pthread_sigmask(SIG_BLOCK, &signals, nil)

        let mask = signals
        _ = JoinableThread(name: "lomad-signals") {
            var unblock = mask
            pthread_sigmask(SIG_UNBLOCK, &unblock, nil)
            var received: UInt8 = 0
            while true {
                let count = read(readEnd, &received, 1)
                if count < 0, errno == EINTR { continue }
                guard count == 1 else { return }
                if Int32(received) == SIGHUP {
                    onReload()
                } else {
                    onTermination(Int32(received))
                }
            }
        }
    }

    private static let watched: [Int32] = [SIGTERM, SIGINT, SIGHUP]
}

/// The pipe's write end, set once before the handler is installed and only read after.
nonisolated(unsafe) private var signalPipeWriter: Int32 = -1

/// The process-wide handler: async-signal-safe, it only writes one byte.
private func forwardSignal(_ signal: Int32) {
    let saved = errno
    var byte = UInt8(truncatingIfNeeded: signal)
    _ = write(signalPipeWriter, &byte, 1)
    errno = saved
}
