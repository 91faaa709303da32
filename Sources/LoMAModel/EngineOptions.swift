import CLoMAKernels

/// How the engine holds its weights and which product kernel multiplies by them: the daemon's
/// `engine.weights` and `engine.kernel` settings, and `LlamaModel.load(directory:options:)`'s
/// parameter. `auto` picks the fast choice that loses nothing, which is what the daemon serves
/// with unless told otherwise; the explicit choices exist to measure and to test the others on
/// a machine that would never pick them.
public struct EngineOptions: Sendable, Equatable {
    /// The weights' format in memory. Products always accumulate in f32.
    public enum Weights: String, Sendable, CaseIterable {
        /// bf16 when the checkpoint stores its weights in bf16 (held exactly, half the bytes of
        /// f32, and the pass gives bit for bit the f32 result); f32 for f32 and f16 checkpoints,
        /// which bf16 would round (measured in docs/engine.md).
        case auto
        /// bf16 always: f32 and f16 weights are rounded to nearest even at load.
        case bf16
        /// f32 always: twice the bytes of bf16; exact for every checkpoint dtype.
        case f32
    }

    /// The product kernel. A kernel the CPU cannot run is refused at load, never executed.
    public enum Kernel: String, Sendable, CaseIterable {
        /// The best this CPU runs: avx512, else avx2, else portable.
        case auto
        /// AVX-512F, 6 rows x 64 outputs per tile.
        case avx512
        /// AVX2 + FMA, 6 rows x 16 outputs per tile.
        case avx2
        /// Plain C, vectorised by the compiler for the baseline instruction set (any x86-64 or arm64).
        case portable
    }

    public var weights: Weights
    public var kernel: Kernel

    public init(weights: Weights = .auto, kernel: Kernel = .auto) {
        self.weights = weights
        self.kernel = kernel
    }

    /// The kernels this CPU runs (never `auto`), best first.
    public static var supportedKernels: [Kernel] {
        [Kernel.avx512, .avx2, .portable].filter { loma_kernel_supported($0.code) != 0 }
    }

    /// `kernel` with `auto` replaced by the best one here.
    /// - Throws: `EngineOptionsError` when this CPU cannot run the kernel asked for.
    public func resolvedKernel() throws(EngineOptionsError) -> Kernel {
        switch kernel {
        case .auto:
            return Self.supportedKernels.first ?? .portable
        case .avx512, .avx2, .portable:
            guard loma_kernel_supported(kernel.code) != 0 else {
                throw EngineOptionsError(
                    "kernel \"\(kernel.rawValue)\" needs instructions this CPU lacks; it runs "
                        + Self.supportedKernels.map { "\"\($0.rawValue)\"" }.joined(separator: ", ") + " (or \"auto\")")
            }
            return kernel
        }
    }

    /// `weights` with `auto` replaced by the format for a checkpoint of `checkpointDType`
    /// (a safetensors dtype name such as `BF16`).
    public func resolvedWeights(checkpointDType: String) -> Weights {
        switch weights {
        case .auto: return checkpointDType == "BF16" ? .bf16 : .f32
        case .bf16, .f32: return weights
        }
    }
}

extension EngineOptions.Kernel {
    /// The `LOMA_KERNEL_*` constant (`auto` is resolved before any product runs).
    var code: Int32 {
        switch self {
        case .avx512: Int32(LOMA_KERNEL_AVX512)
        case .avx2: Int32(LOMA_KERNEL_AVX2)
        case .portable, .auto: Int32(LOMA_KERNEL_PORTABLE)
        }
    }
}

extension EngineOptions.Weights {
    /// The `LOMA_WEIGHTS_*` constant (`auto` is resolved at load).
    var code: Int32 { self == .bf16 ? Int32(LOMA_WEIGHTS_BF16) : Int32(LOMA_WEIGHTS_F32) }

    /// Bytes per weight held.
    var byteSize: Int { self == .bf16 ? 2 : 4 }
}
