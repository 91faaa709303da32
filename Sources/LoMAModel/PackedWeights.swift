import CLoMAKernels
import LoMATensorIO

/// A weight matrix `[out_features, in_features]` stored in the panel order the product kernel
/// reads (`CLoMAKernels.h`), as f32 or bf16: the memory pass multiplies a few rows by every
/// weight, so the weights are repacked once at load instead of by OpenBLAS on every call, which
/// at 16 to 256 rows cost more than the arithmetic; and at 16 rows the pass takes as long as
/// streaming the weights, so bf16 halves it.
public struct PackedWeights: Sendable {
    /// Output features (rows of the Hugging Face matrix).
    public let rows: Int
    /// Input features (columns of the Hugging Face matrix).
    public let columns: Int
    /// `f32` or `bf16` (never `auto`).
    public let format: EngineOptions.Weights
    /// Elements held, including the zero padding of the last panel.
    public let count: Int
    let storage: AlignedStorage

    /// Packs a `[rows, columns]` row-major tensor, rounding to bf16 when `format` says so. The
    /// panels are packed by the engine's threads (packing is a fifth of a large model's load).
    init(packing tensor: Tensor, format: EngineOptions.Weights) {
        precondition(tensor.shape.count == 2, "weights must be 2-D, got \(tensor.shape)")
        precondition(format != .auto, "weights format must be resolved before packing")
        rows = tensor.shape[0]
        columns = tensor.shape[1]
        self.format = format
        count = loma_packed_count(Int32(rows), Int32(columns))
        storage = AlignedStorage(count: (count * format.byteSize + 3) / 4)
        let shared = PackingPointers(source: tensor.storage.pointer, target: storage.pointer)
        let (rows, columns, code) = (Int32(rows), Int32(columns), format.code)
        Parallel.forEach(panelCount, minimumChunk: Parallel.minimumChunk(workPerItem: Int(LOMA_PANEL_WIDTH) * Int(columns))) { panels in
            loma_pack(shared.source, rows, columns, code, Int32(panels.lowerBound), Int32(panels.upperBound), shared.target)
        }
        withExtendedLifetime(tensor) {}
    }

    /// Bytes held (what streaming the matrix once reads).
    public var byteCount: Int { count * format.byteSize }

    /// Panels of `LOMA_PANEL_WIDTH` outputs; the unit of work split between threads.
    var panelCount: Int { (rows + Int(LOMA_PANEL_WIDTH) - 1) / Int(LOMA_PANEL_WIDTH) }

    /// Element (row, column) of the matrix as held (bf16 widened to f32).
    public subscript(row: Int, column: Int) -> Float {
        precondition((0..<rows).contains(row) && (0..<columns).contains(column), "(\(row), \(column)) outside [\(rows), \(columns)]")
        return loma_packed_element(storage.pointer, format.code, Int32(columns), Int32(row), Int32(column))
    }
}

/// The source tensor and the packed storage, handed to the threads that pack disjoint panels.
private struct PackingPointers: @unchecked Sendable {
    let source: UnsafePointer<Float>
    let target: UnsafeMutablePointer<Float>
}
