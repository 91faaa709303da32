import Foundation
import LoMAModel
#if canImport(Glibc)
import Glibc
#endif

/// `loma-bench`: times the memory pass against baselines measured in the same process (the
/// machine's sgemm rate and memcpy bandwidth) and prints one JSON object for `run.sh`.
///
///     loma-bench --model DIR [--tokens 16,64,256] [--context 0] [--repeat 3] [--threads N] [--weights W] [--kernel K]
@main
struct EngineBenchmark {
    static func main() throws {
        let options = try Options(CommandLine.arguments.dropFirst())
        if let threads = options.threads { BLAS.setThreadCount(threads) }

        let loadStart = Date()
        let model = try LlamaModel.load(directory: URL(fileURLWithPath: options.model), options: options.engine)
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let rssAfterLoad = peakResidentBytes()

        // Baselines and passes are timed in interleaved rounds (sgemm, memcpy, then every size,
        // `repeat` times over) and each keeps its best: on a shared machine the load moves
        // within a run, and interleaving exposes the baselines and the pass to the same load.
        let c = model.configuration
        let perSegment = c.loma.memoryTokensPerSegment
        if let bad = options.tokens.first(where: { $0 <= 0 || $0 % perSegment != 0 }) {
            throw BenchmarkError("--tokens \(bad) is not a positive multiple of \(perSegment) memory tokens per segment")
        }
        let batches = try options.tokens.map { size in
            let inputs = (0..<(size / perSegment)).map { _ in
                RandomKV(model: model, tokens: c.loma.segmentLength, context: options.context)
            }
            return (inputs: inputs, jobs: try inputs.map { try $0.job() })
        }
        for batch in batches { _ = try? model.compress(batch.jobs) }  // warm-up: first touch of scratch
        // The engine's peak: weights, load-time temporaries, inputs and every pass's scratch,
        // before the baselines' own buffers (512 MiB for memcpy) are allocated.
        let enginePeak = peakResidentBytes()
        let sgemmBaseline = Baselines.SquareProduct(size: 2048)
        let memcpyBaseline = Baselines.Copy(bytes: 256 << 20)
        var best = Best()
        for _ in 0..<max(1, options.repeat) {
            best.record("sgemm", seconds(sgemmBaseline.run))
            best.record("memcpy", seconds(memcpyBaseline.run))
            for (size, batch) in zip(options.tokens, batches) {
                best.record("pass \(size)", seconds { _ = try? model.compress(batch.jobs) })
            }
        }
        let sgemm = sgemmBaseline.flops / best["sgemm"] / 1e9
        let memcpy = Double(memcpyBaseline.bytes) / best["memcpy"] / 1e9
        let floorSeconds = Double(model.weightBytes) / (memcpy * 1e9)

        var results: [[String: Any]] = []
        for size in options.tokens {
            let jobCount = size / perSegment
            let seconds = best["pass \(size)"]
            let flops = passFLOPs(model, jobs: jobCount, context: options.context)
            results.append([
                "memory_tokens": size, "jobs": jobCount, "seconds": seconds,
                "memory_tokens_per_s": Double(size) / seconds, "gflop": flops / 1e9,
                "gflops": flops / seconds / 1e9, "of_sgemm": flops / seconds / 1e9 / sgemm,
                "of_floor": seconds / floorSeconds,
            ])
        }
        let report: [String: Any] = [
            "model": options.model, "blas_threads": BLAS.threadCount,
            "weights": model.weightFormat.rawValue, "kernel": model.kernel.rawValue,
            "weight_bytes": model.weightBytes, "load_seconds": loadSeconds,
            "sgemm_2048_gflops": sgemm, "memcpy_gbps": memcpy, "weight_stream_floor_seconds": floorSeconds,
            "peak_rss_after_load_bytes": rssAfterLoad, "peak_rss_bytes": enginePeak,
            "peak_rss_with_baselines_bytes": peakResidentBytes(),
            "results": results,
        ]
        let data = try JSONSerialization.data(withJSONObject: report, options: [.prettyPrinted, .sortedKeys])
        print(String(decoding: data, as: UTF8.self))
    }

    /// Matrix-product FLOPs of one pass (2*m*n*k per product, attention included), counted the
    /// way `Tools/loma_reference/bench.py` counts them so the two rates compare.
    static func passFLOPs(_ model: LlamaModel, jobs: Int, context: Int) -> Double {
        let c = model.configuration
        let t = Double(c.loma.memoryTokensPerSegment)
        let rows = Double(jobs) * t
        var flops = 0.0
        // Products with the weights: in x out multiply-adds per row (not the packed storage,
        // whose last panel may be zero padding that computes nothing useful).
        func products(_ linear: Linear) -> Double { 2 * rows * Double(linear.inFeatures * linear.outFeatures) }
        for layer in model.layers {
            flops += products(layer.attention.queryKeyValue)
            if let output = layer.attention.output { flops += products(output) }
            if let mlp = layer.mlp { flops += products(mlp.gateUp) + products(mlp.down) }
            if !layer.producesKeyValuesOnly {
                let attended = Double(context + c.loma.segmentLength) + t
                flops += Double(jobs) * Double(c.numAttentionHeads) * 2 * (2 * t * attended * Double(c.headDim))
            }
        }
        return flops
    }

    static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    static func peakResidentBytes() -> Int {
        var usage = rusage()
        _ = getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024  // kilobytes on Linux
    }
}

/// The fastest time seen for each named measurement.
struct Best {
    private var seconds: [String: Double] = [:]

    mutating func record(_ name: String, _ value: Double) {
        seconds[name] = min(seconds[name] ?? .infinity, value)
    }

    subscript(name: String) -> Double { seconds[name] ?? .infinity }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
