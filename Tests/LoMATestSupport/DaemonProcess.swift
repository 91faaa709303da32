import Foundation

/// A real `lomad` process for tests: started with the arguments a test gives, on a fresh ipc
/// endpoint unless the test names its own, and stopped (SIGTERM, then SIGKILL if it hangs) when
/// the test is done with it. The daemon's stderr is kept so a failing test can show it.
public final class DaemonProcess: @unchecked Sendable {
    public let process = Process()
    /// The endpoints the daemon printed as bound (tcp ports resolved).
    public private(set) var endpoints: [String] = []
    private let stderrFile: URL
    public let directory: URL

    /// The directory holding the package's built executables: the one the test binary is in.
    public static var binaryDirectory: URL {
        if let override = ProcessInfo.processInfo.environment["LOMAD_BIN_DIR"] {
            return URL(fileURLWithPath: override)
        }
        return URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
    }

    public static func executable(_ name: String) -> URL {
        binaryDirectory.appendingPathComponent(name)
    }

    /// Starts `lomad serve` and waits until it logs that it serves (or exits, which throws).
    /// - Parameters:
    ///   - executable: `lomad`, or `lomad-test-daemon` for a daemon whose broker loop stalls.
    ///   - endpoints: where to bind; default one fresh ipc endpoint.
    ///   - descriptorLimit: when set, the daemon runs under `ulimit -n` of this many (soft and
    ///     hard, so it cannot raise it), through `/bin/sh`, which `exec`s it: the process is lomad.
    public init(executable: String = "lomad", arguments: [String] = [], endpoints: [String]? = nil, environment: [String: String] = [:],
                descriptorLimit: Int? = nil, timeout: Duration = .seconds(30)) throws {
        directory = try TemporaryDirectory("lomad-daemon").url
        stderrFile = directory.appendingPathComponent("stderr.log")
        _ = FileManager.default.createFile(atPath: stderrFile.path, contents: nil)
        let bind = endpoints ?? ["ipc://\(directory.path)/lomad.sock"]
        let lomad = ["serve"] + bind.flatMap { ["--endpoint", $0] } + arguments
        if let descriptorLimit {
            process.executableURL = URL(fileURLWithPath: "/bin/sh")
            process.arguments = ["-c", "ulimit -n \(descriptorLimit) && exec \"$0\" \"$@\"", Self.executable(executable).path] + lomad
        } else {
            process.executableURL = Self.executable(executable)
            process.arguments = lomad
        }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardError = try FileHandle(forWritingTo: stderrFile)
        process.standardOutput = FileHandle.nullDevice
        try ProcessLaunch.run(process)
        try waitUntilServing(timeout: timeout)
    }

    deinit {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    public var log: String {
        (try? String(contentsOf: stderrFile, encoding: .utf8)) ?? ""
    }

    /// The first endpoint the daemon serves on.
    public var endpoint: String { endpoints.first ?? "" }

    /// Sends SIGTERM and waits for the exit status; SIGKILL after `timeout`.
    @discardableResult
    public func stop(timeout: Duration = .seconds(20)) -> Int32 {
        guard process.isRunning else { return process.terminationStatus }
        process.terminate()
        let deadline = ContinuousClock.now + timeout
        while process.isRunning, ContinuousClock.now < deadline {
            Thread.sleep(forTimeInterval: 0.02)
        }
        if process.isRunning {
            return killAndWait()
        }
        return process.terminationStatus
    }

    /// Sends SIGKILL and waits until the process is gone; returns its status as Foundation
    /// reports it (for SIGKILL, 9), or -1 if it never goes.
    ///
    /// Polls rather than calling `waitUntilExit`: on Linux, Foundation can miss a child's exit
    /// (seen with a daemon killed while its crash backtracer ran: a zombie nobody reaped), and
    /// `waitUntilExit` then spins forever, hanging the whole test run. A zombie Foundation has not
    /// reaped after a few seconds is reaped here.
    @discardableResult
    public func killAndWait(timeout: Duration = .seconds(60)) -> Int32 {
        let pid = process.processIdentifier
        kill(pid, SIGKILL)
        let deadline = ContinuousClock.now + timeout
        var zombieSince: ContinuousClock.Instant?
        while process.isRunning, ContinuousClock.now < deadline {
            if Self.isZombie(pid) {
                let since = zombieSince ?? .now
                zombieSince = since
                var status: Int32 = 0
                if ContinuousClock.now - since > .seconds(3), waitpid(pid, &status, WNOHANG) == pid {
                    return (status & 0x7f) != 0 ? status & 0x7f : (status >> 8) & 0xff
                }
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        return process.isRunning ? -1 : process.terminationStatus
    }

    private static func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let end = stat.lastIndex(of: ")") else { return false }
        return stat[stat.index(after: end)...].trimmingCharacters(in: .whitespaces).hasPrefix("Z")
    }

    private func waitUntilServing(timeout: Duration) throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let serving = ServiceLogLine.lines(of: log).first(where: { $0["msg"] == "serving" }) {
                endpoints = serving["endpoints"]?.split(separator: " ").map(String.init) ?? []
                return
            }
            if !process.isRunning {
                throw DaemonProcessError.exited(status: process.terminationStatus, log: log)
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        throw DaemonProcessError.notReady(log: log)
    }
}

public enum DaemonProcessError: Error, CustomStringConvertible {
    case exited(status: Int32, log: String)
    case notReady(log: String)

    public var description: String {
        switch self {
        case let .exited(status, log): "lomad exited with status \(status) before serving:\n\(log)"
        case let .notReady(log): "lomad did not start serving in time:\n\(log)"
        }
    }
}
