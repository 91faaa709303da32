import Foundation

/// A real `redis-server` for tests, on a free port, with its files in a temporary directory,
/// killed when the test is done with it. Started with `appendonly yes` and `appendfsync always`
/// so a restart on the same directory keeps every write it acknowledged (what the shared tier's
/// "no acknowledged write lost" needs from Redis), or as one node of a Redis Cluster.
public final class RedisServerProcess: @unchecked Sendable {
    public let port: Int
    public let directory: URL
    private var process: Process?
    private let cluster: Bool
    private let extraArguments: [String]
    private let password: String?

    /// - Parameter extraArguments: more `redis-server` options (`--requirepass`, `--user`);
    ///   `password` is what `redis-cli` then authenticates with.
    public init(cluster: Bool = false, port: Int? = nil, directory: URL? = nil, extraArguments: [String] = [],
                password: String? = nil) throws {
        self.extraArguments = extraArguments
        self.password = password
        self.port = try port ?? (cluster ? Self.freeClusterPort() : Self.freePort())
        self.directory = try directory ?? TemporaryDirectory("redis").url
        self.cluster = cluster
        try start()
    }

    deinit {
        kill()
        try? FileManager.default.removeItem(at: directory)
    }

    public var url: String { "redis://127.0.0.1:\(port)/0" }
    public var node: String { "127.0.0.1:\(port)" }

    /// Starts (again) on the same port and directory and waits until it answers PING.
    public func start() throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/redis-server")
        var arguments = ["--port", "\(port)", "--bind", "127.0.0.1", "--dir", directory.path, "--save", "",
                         "--appendonly", "yes", "--appendfsync", "always", "--daemonize", "no",
                         "--logfile", directory.appendingPathComponent("redis.log").path]
        if cluster {
            arguments += ["--cluster-enabled", "yes", "--cluster-config-file", directory.appendingPathComponent("nodes.conf").path,
                          "--cluster-node-timeout", "2000"]
        }
        process.arguments = arguments + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try ProcessLaunch.run(process)
        self.process = process
        let deadline = ContinuousClock.now + .seconds(10)
        while ContinuousClock.now < deadline {
            if let run = try? cli(["PING"]), run.stdout.contains("PONG") { return }
            Thread.sleep(forTimeInterval: 0.05)
        }
        let log = (try? String(contentsOf: directory.appendingPathComponent("redis.log"), encoding: .utf8)) ?? ""
        throw RedisServerError("redis-server on port \(port) did not answer PING; its log ends:\n\(log.suffix(1500))")
    }

    /// SIGKILL, as a crash: no shutdown save (the append-only file is fsynced per write).
    public func kill() {
        guard let process, process.isRunning else { return }
        Glibc.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// `redis-cli -p PORT ARGS...`.
    @discardableResult
    public func cli(_ arguments: [String]) throws -> CommandRun {
        try CommandRun.run(executable: URL(fileURLWithPath: "/usr/bin/redis-cli"),
                           ["-p", "\(port)", "--no-auth-warning"] + (password.map { ["-a", $0] } ?? []) + arguments)
    }

    /// A free port P whose cluster bus port P + 10000 is free too (Redis Cluster needs both, so
    /// P is at most 55535).
    public static func freeClusterPort() throws -> Int {
        for _ in 0..<200 {
            let port = Int.random(in: 20_000..<45_000)
            if (try? freePort(port)) != nil, (try? freePort(port + 10_000)) != nil { return port }
        }
        throw RedisServerError("no free port pair for a Redis Cluster node")
    }

    /// A port nothing listens on now (`port`, or one the kernel picks for 0): bound, read back, closed.
    public static func freePort(_ port: Int = 0) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw RedisServerError("socket failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(fd, pointer, length) == 0 && getsockname(fd, pointer, &length) == 0
            }
        }
        guard bound else { throw RedisServerError("bind failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

public struct RedisServerError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
