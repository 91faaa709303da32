import LoMAModel

/// Command-line options of `loma-bench` (kept dependency-free: a benchmark binary should not
/// pull in more than the engine it measures).
struct Options {
    var model = ""
    var tokens = [16, 64, 256]
    var context = 0
    var `repeat` = 3
    var threads: Int?
    var engine = EngineOptions()

    init(_ arguments: ArraySlice<String>) throws {
        var iterator = arguments.makeIterator()
        while let flag = iterator.next() {
            guard let value = iterator.next() else { throw BenchmarkError("\(flag) needs a value") }
            switch flag {
            case "--model": model = value
            case "--tokens": tokens = value.split(separator: ",").compactMap { Int($0) }
            case "--context": context = Int(value) ?? 0
            case "--repeat": `repeat` = Int(value) ?? 3
            case "--threads": threads = Int(value)
            case "--weights":
                guard let weights = EngineOptions.Weights(rawValue: value) else { throw BenchmarkError("--weights: auto, bf16 or f32") }
                engine.weights = weights
            case "--kernel":
                guard let kernel = EngineOptions.Kernel(rawValue: value) else { throw BenchmarkError("--kernel: auto, avx512, avx2 or portable") }
                engine.kernel = kernel
            default: throw BenchmarkError("unknown option \(flag)")
            }
        }
        guard !model.isEmpty else { throw BenchmarkError("usage: loma-bench --model DIR [--tokens 16,64,256] [--context N] [--repeat N] [--threads N] [--weights auto|bf16|f32] [--kernel auto|avx512|avx2|portable]") }
    }
}
