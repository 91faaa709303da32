import CLoMAKernels
import LoMATensorIO

/// A weight matrix `[out_features, in_features]` stored in the panel order the product kernel
/// reads (`CLoMAKernels.h`): the memory pass multiplies a few rows by every weight, so the
/// weights are repacked once at load instead of by OpenBLAS on every call, which at 16 to 256
/// rows cost more than the arithmetic.
public struct PackedWeights: Sendable {
    /// Output features (rows of the Hugging Face matrix).
    public let rows: Int
    /// Input features (columns of the Hugging Face matrix).
    public let columns: Int
    let storage: AlignedStorage

    /// Packs a `[rows, columns]` row-major tensor.
    init(packing tensor: Tensor) {
        precondition(tensor.shape.count == 2, "weights must be 2-D, got \(tensor.shape)")
        rows = tensor.shape[0]
        columns = tensor.shape[1]
        storage = AlignedStorage(count: loma_packed_count(Int32(rows), Int32(columns)))
        loma_pack(tensor.storage.pointer, Int32(rows), Int32(columns), storage.pointer)
    }

    /// Floats held, including the zero padding of the last panel.
    public var count: Int { storage.count }

    /// Panels of `LOMA_PANEL_WIDTH` outputs; the unit of work split between threads.
    var panelCount: Int { (rows + Int(LOMA_PANEL_WIDTH) - 1) / Int(LOMA_PANEL_WIDTH) }

    /// Element (row, column) of the original matrix.
    public subscript(row: Int, column: Int) -> Float {
        precondition((0..<rows).contains(row) && (0..<columns).contains(column), "(\(row), \(column)) outside [\(rows), \(columns)]")
        return loma_packed_element(storage.pointer, Int32(columns), Int32(row), Int32(column))
    }
}
