import Foundation
import LoMATensorIO

extension KVFile {
    /// Writes a result as a KV file: `keys`, `values` in `dtype`, heads-major, and `positions`
    /// (what `lomad compress` writes; the format itself lives in LoMATensorIO).
    public static func write(_ result: CompressionResult, to url: URL, dtype: DType) throws {
        try write(keys: result.keys, values: result.values, positions: result.positions, to: url, dtype: dtype)
    }
}
