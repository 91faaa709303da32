/// Floating-point element types a KV block or a weight may be stored in.
public enum DType: String, Sendable, CaseIterable {
    case f32, f16, bf16

    /// Bytes per element.
    public var byteSize: Int {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        }
    }

    /// The dtype's name in a safetensors header.
    public var safetensorsName: String {
        switch self {
        case .f32: "F32"
        case .f16: "F16"
        case .bf16: "BF16"
        }
    }

    /// Parses a safetensors header dtype; `nil` for dtypes that are not floating point KV/weights.
    public init?(safetensorsName: String) {
        switch safetensorsName {
        case "F32": self = .f32
        case "F16": self = .f16
        case "BF16": self = .bf16
        default: return nil
        }
    }
}
