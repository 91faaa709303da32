extension Loma_V1_DType {
    /// Bytes per element, or nil for a dtype that cannot describe tensor bytes.
    public var byteSize: Int? {
        switch self {
        case .f32: 4
        case .f16, .bf16: 2
        case .i64: 8
        case .unspecified, .UNRECOGNIZED: nil
        }
    }

    public var name: String {
        switch self {
        case .f32: "f32"
        case .f16: "f16"
        case .bf16: "bf16"
        case .i64: "i64"
        case .unspecified: "unspecified"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }
}

extension Loma_V1_KVLayout {
    public var name: String {
        switch self {
        case .headsMajor: "heads_major"
        case .tokensMajor: "tokens_major"
        case .unspecified: "unspecified"
        case .UNRECOGNIZED(let value): "unknown(\(value))"
        }
    }
}
