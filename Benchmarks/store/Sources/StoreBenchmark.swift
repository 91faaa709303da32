import Foundation
#if canImport(Glibc)
import Glibc
#endif
import LoMAClient
import LoMAProtocol
import Synchronization

/// Store benchmark driver (Swift clients), the twin of Benchmarks/store/store.py: lomad's store
/// operations through LoMAClient against redis-server moving the same bytes through a blocking
/// RESP client, with the same number of clients, alternating rounds, best round kept. Run by
/// Benchmarks/store/run.sh, which builds lomad and passes its path.
let chunkBytes = 16 * 1024

struct Options {
    var lomad = ""
    var model = ""
    var sizes = [16384, 1_048_576]
    var clients = [1, 16]
    var ops = 2000
    var rounds = 3
    var rows = ["publish", "lookup", "compress", "read"]

    init(_ arguments: [String]) throws {
        var iterator = arguments.makeIterator()
        func list(_ text: String?) -> [Int] { (text ?? "").split(separator: ",").compactMap { Int($0) } }
        while let flag = iterator.next() {
            let value = iterator.next()
            switch flag {
            case "--lomad": lomad = value ?? ""
            case "--model": model = value ?? ""
            case "--sizes": sizes = list(value)
            case "--clients": clients = list(value)
            case "--ops": ops = Int(value ?? "") ?? ops
            case "--rounds": rounds = Int(value ?? "") ?? rounds
            case "--rows": rows = (value ?? "").split(separator: ",").map(String.init)
            default: throw BenchError("unknown option \(flag)")
            }
        }
        guard !lomad.isEmpty, !model.isEmpty else { throw BenchError("--lomad and --model are required") }
    }
}

/// A child process serving on a port, ready once `ready` appears in its log; SIGTERM to stop.
final class Service {
    let process = Process()
    init(_ executable: String, _ arguments: [String], ready: String, log: URL) throws {
        guard FileManager.default.createFile(atPath: log.path, contents: nil) else { throw BenchError("cannot create \(log.path)") }
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let deadline = Date().addingTimeInterval(60)
        while !((try? String(contentsOf: log, encoding: .utf8))?.contains(ready) ?? false) {
            guard process.isRunning, Date() < deadline else {
                stop()
                throw BenchError("\(executable) did not start: \((try? String(contentsOf: log, encoding: .utf8)) ?? "")")
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
    }

    func stop() {
        if process.isRunning { process.terminate() }
        process.waitUntilExit()
    }
}

func freePort() throws -> UInt16 {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
            guard bind(descriptor, pointer, length) == 0 else { return -1 }
            return getsockname(descriptor, pointer, &length)
        }
    }
    guard bound == 0 else { throw BenchError("no free port: errno \(errno)") }
    return UInt16(bigEndian: address.sin_port)
}

/// Keys and values of `size` bytes together, [4, 2, tokens, 32] f32 (loma-tiny), seeded.
func memory(size: Int, seed: Int, tokensScale: Int = 1) -> (TensorPayload, TensorPayload) {
    let tokens = size / 2 / (4 * 2 * 32 * 4) * tokensScale
    var state = UInt64(seed + 1) &* 0x9E37_79B9_7F4A_7C15
    func tensor() -> TensorPayload {
        let floats = (0..<(4 * 2 * tokens * 32)).map { _ -> Float in
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
        }
        return TensorPayload(bytes: floats.withUnsafeBytes { Data($0) }, dtype: .f32, shape: [4, 2, tokens, 32])
    }
    return (tensor(), tensor())
}

func hashes(size: Int, client: Int) -> [[UInt8]] {
    (0..<(size / chunkBytes)).map { [UInt8(client), UInt8($0 % 256), UInt8($0 / 256)] + [UInt8](repeating: 0x5A, count: 29) }
}

/// One lomad client doing `ops` operations of `row`; returns when the last is answered.
func lomadClient(row: String, endpoint: Endpoint, size: Int, ops: Int, client index: Int,
                 ready: @Sendable () async -> Void) async throws -> (ContinuousClock.Instant, ContinuousClock.Instant) {
    let client = try LoMAClient(endpoint: endpoint, timeout: .seconds(120), retries: 0)
    let chunkHashes = hashes(size: size, client: index)
    let (keys, values) = memory(size: size, seed: index)
    let (inputKeys, inputValues) = memory(size: size, seed: index + 100, tokensScale: 4)
    let sequence = "bench-\(index)-\(UInt32.random(in: 0 ... .max))"
    if row == "lookup" || row == "publish" {
        _ = try await client.publishPrefix(chunkHashes: chunkHashes, keys: keys, values: values)
    }
    if row == "read" {
        _ = try await client.compress(keys: inputKeys, values: inputValues, options: CompressOptions(sequence: sequence))
    }
    await ready()
    let began = ContinuousClock.now
    for operation in 0..<ops {
        let delivered: Int
        switch row {
        case "publish":
            _ = try await client.publishPrefix(chunkHashes: chunkHashes, keys: keys, values: values)
            delivered = size
        case "lookup":
            let found = try await client.lookupPrefix(chunkHashes: chunkHashes)
            delivered = (found.memory?.keys.bytes.count ?? 0) * 2
        case "compress":
            let made = try await client.compress(keys: inputKeys, values: inputValues,
                                                 options: CompressOptions(sequence: "\(sequence)-\(operation)", ttlSeconds: 600))
            delivered = made.keys.bytes.count * 2
        default:
            let (found, _) = try await client.readMemory(sequence: sequence)
            delivered = (found?.keys.bytes.count ?? 0) * 2
        }
        guard delivered == size else { throw BenchError("lomad \(row) delivered \(delivered) bytes, not \(size)") }
    }
    let ended = ContinuousClock.now
    if row == "compress" {
        for operation in 0..<ops { try await client.deleteSequence("\(sequence)-\(operation)") }
    }
    if row == "read" { try await client.deleteSequence(sequence) }
    return (began, ended)
}

/// One Redis client doing the same on its own thread (its socket blocks).
func redisClient(row: String, port: UInt16, size: Int, ops: Int, client index: Int, ready: () -> Void) throws
    -> (ContinuousClock.Instant, ContinuousClock.Instant) {
    let redis = try RedisConnection(port: port)
    let (keys, values) = memory(size: size, seed: index)
    let payload = [UInt8](keys.bytes) + [UInt8](values.bytes)
    let chunks = size / chunkBytes
    let names = (0..<chunks).map { "bench-\(index)-\($0)" }
    let pieces = names.enumerated().map { ($1, Array(payload[($0 * chunkBytes)..<(($0 + 1) * chunkBytes)])) }
    func write() throws { if chunks == 1 { try redis.set(names[0], payload) } else { try redis.mset(pieces) } }
    try write()
    ready()
    let began = ContinuousClock.now
    for _ in 0..<ops {
        if row == "lookup" || row == "read" {
            let delivered = chunks == 1 ? try redis.get(names[0]) : try redis.mget(names)
            guard delivered == size else { throw BenchError("redis delivered \(delivered) bytes, not \(size)") }
        } else {
            try write()
        }
    }
    return (began, ContinuousClock.now)
}

/// Waits until `count` parties have arrived, so every client starts its timed loop together.
final class StartLine: @unchecked Sendable {
    private let condition = NSCondition()
    private var waiting: Int
    init(_ count: Int) { waiting = count }
    func arrive() {
        condition.lock()
        waiting -= 1
        if waiting == 0 { condition.broadcast() }
        while waiting > 0 { condition.wait() }
        condition.unlock()
    }
}

func rate(_ spans: [(ContinuousClock.Instant, ContinuousClock.Instant)], ops: Int) -> Double {
    guard let first = spans.map(\.0).min(), let last = spans.map(\.1).max() else { return 0 }
    let (seconds, attoseconds) = (last - first).components
    return Double(ops) / (Double(seconds) + Double(attoseconds) * 1e-18)
}

func lomadCell(row: String, endpoint: Endpoint, size: Int, ops: Int, clients: Int) async throws -> Double {
    let perClient = max(1, ops / clients)
    let line = StartLine(clients)
    let spans = try await withThrowingTaskGroup(of: (ContinuousClock.Instant, ContinuousClock.Instant).self) { group in
        for index in 0..<clients {
            group.addTask {
                try await lomadClient(row: row, endpoint: endpoint, size: size, ops: perClient, client: index) {
                    // The start line blocks, so it waits off the cooperative pool.
                    await withCheckedContinuation { continuation in
                        Thread.detachNewThread { line.arrive(); continuation.resume() }
                    }
                }
            }
        }
        return try await group.reduce(into: []) { $0.append($1) }
    }
    return rate(spans, ops: perClient * clients)
}

func redisCell(row: String, port: UInt16, size: Int, ops: Int, clients: Int) throws -> Double {
    let perClient = max(1, ops / clients)
    let line = StartLine(clients)
    let results = Mutex<(spans: [(ContinuousClock.Instant, ContinuousClock.Instant)], failure: (any Error)?)>(([], nil))
    // Foundation's Thread has no join: each client thread leaves the group when it ends.
    let done = DispatchGroup()
    for index in 0..<clients {
        done.enter()
        Thread.detachNewThread {
            do {
                let span = try redisClient(row: row, port: port, size: size, ops: perClient, client: index) { line.arrive() }
                results.withLock { $0.spans.append(span) }
            } catch {
                results.withLock { $0.failure = $0.failure ?? error }
                line.arrive()
            }
            done.leave()
        }
    }
    done.wait()
    let (spans, failure) = results.withLock { $0 }
    if let failure { throw failure }
    return rate(spans, ops: perClient * clients)
}

@main
struct StoreBenchmark {
    static func main() async throws {
        let options = try Options(Array(CommandLine.arguments.dropFirst()))
        let work = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("store-bench-\(getpid())")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        let lomadPort = try freePort(), redisPort = try freePort()
        let endpoint = try Endpoint("tcp://127.0.0.1:\(lomadPort)")
        let lomad = try Service(options.lomad, ["serve", "--endpoint", endpoint.description, "--model", "loma-tiny=\(options.model)",
                                                "--ram-budget-bytes", "\(4 << 30)", "--queue-depth", "4096"],
                                ready: "serving", log: work.appendingPathComponent("lomad.log"))
        defer { lomad.stop() }
        let redisPath = ProcessInfo.processInfo.environment["PATH", default: "/usr/bin"].split(separator: ":")
            .map { "\($0)/redis-server" }.first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/usr/bin/redis-server"
        let redis = try Service(redisPath, ["--port", "\(redisPort)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
                                ready: "Ready to accept connections", log: work.appendingPathComponent("redis.log"))
        defer { redis.stop() }

        let against = ["publish": "SET", "lookup": "GET", "compress": "SET", "read": "GET"]
        let names = ["publish": "publish_prefix", "lookup": "lookup_prefix", "compress": "compress into sequence", "read": "read_memory"]
        var lines: [String] = []
        for size in options.sizes {
            let ops = size <= chunkBytes ? options.ops : max(20, options.ops / 16)
            for clients in options.clients {
                for row in options.rows {
                    var bestLomad = 0.0, bestRedis = 0.0
                    for _ in 0..<options.rounds {
                        bestLomad = max(bestLomad, try await lomadCell(row: row, endpoint: endpoint, size: size, ops: ops, clients: clients))
                        bestRedis = max(bestRedis, try redisCell(row: row, port: redisPort, size: size, ops: ops, clients: clients))
                    }
                    let baseline = (size == chunkBytes ? "" : "M") + (against[row] ?? "?")
                    let name = names[row] ?? row
                    FileHandle.standardError.write(Data("\(name) \(size) x\(clients): \(Int(bestLomad))/s vs \(baseline) \(Int(bestRedis))/s\n".utf8))
                    lines.append("| \(name) | \(size / 1024) KiB | \(clients) | \(Int(bestLomad)) | \(baseline) | \(Int(bestRedis)) | "
                                 + String(format: "%.2f", bestLomad / bestRedis) + " |")
                }
            }
        }
        print("\nStore benchmark, Swift clients (LoMAClient; a blocking RESP client for Redis): operations/s, best of "
              + "\(options.rounds) alternating rounds; ratio = lomad/Redis (goal >= 1.0)\n")
        print("| lomad operation | bytes | clients | lomad ops/s | Redis | Redis ops/s | ratio |")
        print("|---|---:|---:|---:|---|---:|---:|")
        for line in lines { print(line) }
        try? FileManager.default.removeItem(at: work)
    }
}
