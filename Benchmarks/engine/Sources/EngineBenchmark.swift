import Foundation
import LoMAModel
#if canImport(Glibc)
import Glibc
#endif

/// `loma-bench`: times the memory pass against baselines measured in the same process (the
/// machine's sgemm rate and memcpy bandwidth) and prints one JSON object for `run.sh`.
///
///     loma-bench --model DIR [--tokens 16,64,256] [--context 0] [--repeat 3] [--threads N]
@main
struct EngineBenchmark {
    static func main() throws {
        let options = try Options(CommandLine.arguments.dropFirst())
        if let threads = options.threads { BLAS.setThreadCount(threads) }

        let loadStart = Date()
        let model = try LlamaModel.load(directory: URL(fileURLWithPath: options.model))
        let loadSeconds = Date().timeIntervalSince(loadStart)
        let rssAfterLoad = peakResidentBytes()

        let sgemm = Baselines.sgemmGFLOPs(size: 2048, repeat: options.repeat)
        let memcpy = Baselines.memcpyGBps(bytes: 256 << 20, repeat: options.repeat)
        let floorSeconds = Double(model.weightBytes) / (memcpy * 1e9)

        var results: [[String: Any]] = []
        let c = model.configuration
        for size in options.tokens {
            let perSegment = c.loma.memoryTokensPerSegment
            guard size % perSegment == 0 else {
                throw BenchmarkError("--tokens \(size) is not a multiple of \(perSegment) memory tokens per segment")
            }
            let jobCount = size / perSegment
            let inputs = (0..<jobCount).map { _ in RandomKV(model: model, tokens: c.loma.segmentLength, context: options.context) }
            let jobs = try inputs.map { try $0.job() }
            let seconds = bestSeconds(repeat: options.repeat) { _ = try? model.compress(jobs) }
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
            "weight_bytes": model.weightBytes, "load_seconds": loadSeconds,
            "sgemm_2048_gflops": sgemm, "memcpy_gbps": memcpy, "weight_stream_floor_seconds": floorSeconds,
            "peak_rss_after_load_bytes": rssAfterLoad, "peak_rss_bytes": peakResidentBytes(),
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
        for layer in model.layers {
            flops += 2 * rows * Double(layer.attention.queryKeyValue.weight.count)
            if let output = layer.attention.output { flops += 2 * rows * Double(output.weight.count) }
            if let mlp = layer.mlp { flops += 2 * rows * Double(mlp.gateUp.weight.count + mlp.down.weight.count) }
            if !layer.producesKeyValuesOnly {
                let attended = Double(context + c.loma.segmentLength) + t
                flops += Double(jobs) * Double(c.numAttentionHeads) * 2 * (2 * t * attended * Double(c.headDim))
            }
        }
        return flops
    }

    static func bestSeconds(repeat: Int, _ body: () -> Void) -> Double {
        body()  // warm-up: first touch of scratch and BLAS buffers
        var best = Double.infinity
        for _ in 0..<max(1, `repeat`) {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        return best
    }

    static func peakResidentBytes() -> Int {
        var usage = rusage()
        _ = getrusage(RUSAGE_SELF.rawValue, &usage)
        return Int(usage.ru_maxrss) * 1024  // kilobytes on Linux
    }
}

struct BenchmarkError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
