import Foundation

/// What the bench was asked to do, parsed from the command line. Kept dependency-free (no
/// argument-parser) so the bench builds from the ZeroMQ module alone.
enum BenchCommand {
    /// The in-process exchange that mirrors the C baseline.
    case local(LocalBenchmark)
    /// N round trips against an existing ROUTER, e.g. a running daemon.
    case client(endpoint: String, requestFrames: [[UInt8]], requests: Int, warmup: Int)
    /// A standalone echo ROUTER (until stdin closes), the no-work peer for `client`.
    case echo(bindEndpoint: String)

    static let usage = """
        usage: transport-bench local <ipc|tcp> <small_bytes> <small_round_trips> <large_bytes> <large_round_trips>
               transport-bench echo <bind_endpoint>      (echoes until stdin closes)
               transport-bench client --endpoint <endpoint> [--requests N] [--warmup N]
                                      [--frame-hex HEX | --frame-file PATH]...
          client sends each request as the given frames (one --frame-* per frame, in order;
          default one 64-byte frame), waits for one reply per request, prints p50/p99.
        """

    struct UsageError: Error, CustomStringConvertible {
        let problem: String
        var description: String { "\(problem)\n\(BenchCommand.usage)" }
    }

    init(arguments: [String]) throws {
        guard let mode = arguments.first else { throw UsageError(problem: "missing mode") }
        let rest = Array(arguments.dropFirst())
        switch mode {
        case "local":
            guard rest.count == 5, let transport = LocalBenchmark.Transport(rawValue: rest[0]) else {
                throw UsageError(problem: "local needs a transport (ipc or tcp) and four counts")
            }
            let counts = try rest.dropFirst().map { try Self.count($0, "local") }
            self = .local(LocalBenchmark(transport: transport, smallBytes: counts[0], smallRoundTrips: counts[1],
                                         largeBytes: counts[2], largeRoundTrips: counts[3]))
        case "client":
            self = try Self.parseClient(rest)
        case "echo":
            guard rest.count == 1 else { throw UsageError(problem: "echo needs one endpoint to bind") }
            self = .echo(bindEndpoint: rest[0])
        default:
            throw UsageError(problem: "unknown mode '\(mode)'")
        }
    }

    private static func parseClient(_ arguments: [String]) throws -> BenchCommand {
        var endpoint: String?
        var frames: [[UInt8]] = []
        var requests = 10_000
        var warmup = 1_000
        var remaining = arguments[...]
        while let flag = remaining.popFirst() {
            guard let value = remaining.popFirst() else { throw UsageError(problem: "\(flag) needs a value") }
            switch flag {
            case "--endpoint": endpoint = value
            case "--requests": requests = try count(value, flag)
            case "--warmup": warmup = try count(value, flag)
            case "--frame-hex": frames.append(try bytes(hex: value))
            case "--frame-file":
                guard let data = FileManager.default.contents(atPath: value) else {
                    throw UsageError(problem: "cannot read --frame-file \(value)")
                }
                frames.append(Array(data))
            default: throw UsageError(problem: "unknown option \(flag)")
            }
        }
        guard let endpoint else { throw UsageError(problem: "client needs --endpoint") }
        return .client(endpoint: endpoint, requestFrames: frames.isEmpty ? [Array(repeating: 7, count: 64)] : frames,
                       requests: requests, warmup: warmup)
    }

    private static func count(_ text: String, _ what: String) throws -> Int {
        guard let value = Int(text), value >= 0 else {
            throw UsageError(problem: "\(what): '\(text)' is not a non-negative integer")
        }
        return value
    }

    private static func bytes(hex: String) throws -> [UInt8] {
        let digits = Array(hex.utf8)
        guard digits.count.isMultiple(of: 2) else { throw UsageError(problem: "--frame-hex: odd number of digits") }
        return try stride(from: 0, to: digits.count, by: 2).map { index in
            guard let byte = UInt8(String(decoding: digits[index..<index + 2], as: UTF8.self), radix: 16) else {
                throw UsageError(problem: "--frame-hex: '\(hex)' is not hexadecimal")
            }
            return byte
        }
    }
}
