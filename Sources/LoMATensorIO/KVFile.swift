import Foundation

/// A KV safetensors file (docs/loma-spec.md section 6): `keys` and `values` of the same shape in a
/// floating-point dtype, viewed in place from the mapping. Output files add `positions` (I64).
public final class KVFile {
    public let file: SafetensorsFile
    public let keys: KVTensorView
    public let values: KVTensorView

    /// Opens `url` and views its tensors in `layout`. Problems are `input` errors naming the
    /// file and tensor: a KV file comes from the user, not from the checkpoint.
    public init(url: URL, layout: KVLayout = .headsMajor) throws {
        file = try SafetensorsFile(url: url, errorKind: .input)
        keys = try Self.view(file, "keys", layout: layout)
        values = try Self.view(file, "values", layout: layout)
        guard file.tensors["keys"]?.shape == file.tensors["values"]?.shape else {
            throw TensorIOError.input(
                "\(url.path): keys shape \(file.tensors["keys"]?.shape ?? []) differs from values shape \(file.tensors["values"]?.shape ?? [])")
        }
    }

    /// The dtype of `keys` (the default output dtype of `lomad compress`).
    public var dtype: DType { keys.dtype }

    private static func view(_ file: SafetensorsFile, _ name: String, layout: KVLayout) throws -> KVTensorView {
        let info = try file.info(name)
        guard let dtype = info.dtype else {
            throw TensorIOError.input("\(file.url.path): tensor '\(name)' has dtype \(info.dtypeName), expected F32, F16 or BF16")
        }
        guard info.shape.count == 4 else {
            throw TensorIOError.input(
                "\(file.url.path): tensor '\(name)' has shape \(info.shape), expected 4 dimensions \(layout == .headsMajor ? "[layers, kv_heads, tokens, head_dim]" : "[layers, tokens, kv_heads, head_dim]")")
        }
        let s = info.shape
        let (kvHeads, tokens) = layout == .headsMajor ? (s[1], s[2]) : (s[2], s[1])
        return try KVTensorView(
            bytes: file.bytes(of: info), dtype: dtype, layout: layout, layers: s[0], kvHeads: kvHeads,
            tokens: tokens, headDim: s[3], name: "\(file.url.path): tensor '\(name)'")
    }

    /// Writes a KV file: `keys`, `values` (heads-major f32 tensors) stored as `dtype`, and
    /// `positions` (I64). LoMAModel writes a `CompressionResult` through this.
    public static func write(keys: Tensor, values: Tensor, positions: [Int64], to url: URL, dtype: DType) throws {
        var writer = SafetensorsWriter()
        writer.add("keys", keys, as: dtype)
        writer.add("values", values, as: dtype)
        writer.add("positions", int64: positions)
        try writer.write(to: url)
    }
}
