import Foundation

/// The outcome of running one of the package's executables to completion.
public struct CommandRun: Sendable {
    public let status: Int32
    public let stdout: String
    public let stderr: String

    /// Runs `<build dir>/name arguments` and waits for it.
    /// - Parameter environment: variables added to (or replacing) the test's own.
    public static func run(_ name: String, _ arguments: [String], environment: [String: String] = [:]) throws -> CommandRun {
        try run(executable: DaemonProcess.executable(name), arguments, environment: environment)
    }

    /// Runs any program (a system tool such as `systemd-analyze`, through `/usr/bin/env`) and waits for it.
    public static func run(executable: URL, _ arguments: [String], environment: [String: String] = [:]) throws -> CommandRun {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let scratch = try TemporaryDirectory("run")
        defer { scratch.remove() }
        // Files, not pipes, so a chatty child can never block on a full pipe while we wait.
        let out = scratch.url.appendingPathComponent("out"), err = scratch.url.appendingPathComponent("err")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: out), errHandle = try FileHandle(forWritingTo: err)
        defer {
            try? outHandle.close()
            try? errHandle.close()
        }
        process.standardOutput = outHandle
        process.standardError = errHandle
        try ProcessLaunch.run(process)
        process.waitUntilExit()
        return CommandRun(status: process.terminationStatus,
                          stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                          stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }

    public static func lomactl(_ arguments: [String]) throws -> CommandRun { try run("lomactl", arguments) }
    public static func lomad(_ arguments: [String]) throws -> CommandRun { try run("lomad", arguments) }
}

/// A unix socket file with no listener behind it: what a daemon killed with SIGKILL leaves.
public enum StaleUnixSocket {
    public static func create(at path: String) throws {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EIO) }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { $0.copyBytes(from: Array(path.utf8)) }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard result == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
    }
}
