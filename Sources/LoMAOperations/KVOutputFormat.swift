import LoMAModel
import LoMAProtocol
import LoMATensorIO

/// The dtype and layout a client asked its memory back in (`output_dtype`, `output_layout` of
/// compress, read_memory and lookup_prefix), checked in this one place so that every operation
/// refuses the same values with the same words.
struct KVOutputFormat {
    let dtype: DType
    let layout: KVLayout

    /// - Parameters:
    ///   - operation: the request the fields belong to, naming them in errors
    ///     (`compress.output_dtype`).
    ///   - fallback: what an unspecified field means: for compress, the input's own dtype and
    ///     layout; for stored memory, f32 heads-major.
    init(dtype: Loma_V1_DType, layout: Loma_V1_KVLayout, operation: String,
         fallback: (dtype: DType, layout: KVLayout)) throws {
        if dtype == .unspecified {
            self.dtype = fallback.dtype
        } else if let kv = dtype.kvDType {
            self.dtype = kv
        } else {
            throw StatusError.invalidArgument("\(operation).output_dtype \(dtype.name) is not f32, f16 or bf16")
        }
        if layout == .unspecified {
            self.layout = fallback.layout
        } else if let kv = layout.kvLayout {
            self.layout = kv
        } else {
            throw StatusError.invalidArgument("\(operation).output_layout \(layout.name) is unknown")
        }
    }

    /// For memory read back from the store, which keeps no dtype or layout of its own.
    static let storedDefault: (dtype: DType, layout: KVLayout) = (.f32, .headsMajor)
}
