// The shared tier's read path against plain Redis GETs of the same bytes from the same Redis,
// measured in one run (the machine is shared and noisy; only the ratios mean something).
//
// Two stores, as two daemons have them: store A writes sequences of one segment through the
// shared tier; store B, with an empty local store, reads them. "cold" is B's first read of each
// sequence: the record (HMGET), the segment (GET), checksum, content address and identity
// checks, the copy into B's RAM tier and the decode, i.e. a read served from the shared tier.
// "warm" is B reading a sequence it already holds: the version check (HMGET) and the local
// read. The baseline is one GET of the same number of bytes, from the same Redis, through the
// same client pool. Ratios are (store path time) / (GET time) per read; best of ROUNDS.
//
// Usage: shared-tier-bench REDIS_PORT [ROUNDS]
import Foundation
import LoMASharedTier
import LoMAStore
import Redis

let arguments = CommandLine.arguments
guard arguments.count >= 2, let port = Int(arguments[1]) else {
    FileHandle.standardError.write(Data("usage: shared-tier-bench REDIS_PORT [ROUNDS]\n".utf8))
    exit(2)
}
let rounds = arguments.count > 2 ? Int(arguments[2]) ?? 3 : 3
let url = RedisURL(node: RedisNode(host: "127.0.0.1", port: port))

func tier() -> RedisSharedTier {
    RedisSharedTier(client: RedisClient(configuration: RedisClientConfiguration(topology: .single(url), timeout: .seconds(5), poolSize: 18)),
                    models: ModelIdentities(["bench": "bench@bench"]))
}

func store() throws -> CompressedMemoryStore {
    try CompressedMemoryStore(configuration: StoreConfiguration(mode: .memory, ramBudgetBytes: 8 << 30, sharedTier: tier()))
}

/// A segment whose encoding is about `bytes` (f32 keys and values dominate).
func segment(layers: Int, heads: Int, tokens: Int, headDim: Int, seed: Int) throws -> MemorySegment {
    let count = layers * heads * tokens * headDim
    let keys = (0..<count).map { Float(($0 &+ seed) % 977) * 0.001 }
    let values = (0..<count).map { Float(($0 &* 3 &+ seed) % 991) * 0.001 }
    return try MemorySegment(keys: keys, values: values, positions: (0..<tokens).map { Int64($0) },
                             shape: MemoryShape(layers: layers, kvHeads: heads, headDim: headDim), tokens: tokens,
                             sourceStart: 0, sourceLength: tokens * 4)
}

/// Runs `body(index)` for indices 0..<count on `clients` threads; returns the wall time.
func timed(clients: Int, count: Int, _ body: @escaping @Sendable (Int) -> Void) -> Duration {
    let start = ContinuousClock.now
    DispatchQueue.concurrentPerform(iterations: clients) { client in
        var index = client
        while index < count {
            body(index)
            index += clients
        }
    }
    return ContinuousClock.now - start
}

let raw = RedisClient(configuration: RedisClientConfiguration(topology: .single(url), timeout: .seconds(5), poolSize: 18))
let cases: [(label: String, layers: Int, heads: Int, tokens: Int, headDim: Int, reads: Int)] = [
    ("16KiB", 2, 2, 16, 32, 1600),
    ("1MiB", 8, 8, 32, 64, 96),
]
print("# shared-tier read path vs plain GET of the same bytes, same Redis (127.0.0.1:\(port)); best of \(rounds) rounds")
print("size   clients     bytes  GET us/read cold us/read warm us/read cold/GET warm/GET   (us/read: latency per read per client)")
for entry in cases {
    let writer = try store()
    // The encoded size of one segment: what a store without a shared tier holds for it.
    let sizer = try CompressedMemoryStore(configuration: StoreConfiguration(mode: .memory))
    try sizer.append(sequence: "size", model: "bench",
                     segments: [try segment(layers: entry.layers, heads: entry.heads, tokens: entry.tokens, headDim: entry.headDim, seed: 1)])
    let encodedBytes = sizer.statistics.ramBytes
    for clients in [1, 16] {
        var best = (get: Duration.seconds(1_000_000), cold: Duration.seconds(1_000_000), warm: Duration.seconds(1_000_000))
        for round in 0..<rounds {
            let prefix = "bench-\(entry.label)-\(clients)-\(round)-\(UInt32.random(in: 0...UInt32.max))"
            // Distinct bytes per sequence, so no read is served by a shared segment.
            for index in 0..<entry.reads {
                let distinct = try segment(layers: entry.layers, heads: entry.heads, tokens: entry.tokens, headDim: entry.headDim,
                                           seed: round * 100_000 + index)
                try writer.append(sequence: "\(prefix)-\(index)", model: "bench", segments: [distinct])
            }
            let reader = try store()
            // The baseline's bytes: one value of the encoded segment's size per read.
            let payload = [UInt8](repeating: 7, count: encodedBytes)
            for index in 0..<entry.reads {
                _ = try raw.execute([Array("SET".utf8), Array("\(prefix):raw:\(index)".utf8), payload], key: nil)
            }
            let get = timed(clients: clients, count: entry.reads) { index in
                _ = try? raw.execute([Array("GET".utf8), Array("\(prefix):raw:\(index)".utf8)], key: nil)
            }
            let cold = timed(clients: clients, count: entry.reads) { index in
                guard (try? reader.read(sequence: "\(prefix)-\(index)")) != nil else { fatalError("cold read \(index) failed") }
            }
            let warm = timed(clients: clients, count: entry.reads) { index in
                guard (try? reader.read(sequence: "\(prefix)-\(index)")) != nil else { fatalError("warm read \(index) failed") }
            }
            best = (min(best.get, get), min(best.cold, cold), min(best.warm, warm))
            reader.close()
            _ = try raw.execute([Array("FLUSHDB".utf8)], key: nil)
        }
        func perRead(_ duration: Duration) -> Double {
            (Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) * 1e-12) / Double(entry.reads) * Double(clients)
        }
        let (get, cold, warm) = (perRead(best.get), perRead(best.cold), perRead(best.warm))
        print(entry.label.padding(toLength: 6, withPad: " ", startingAt: 0)
              + String(format: " %7d %9d %12.1f %12.1f %12.1f %8.2f %8.2f", clients, encodedBytes, get, cold, warm,
                     cold / get, warm / get))
    }
    writer.close()
}
