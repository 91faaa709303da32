import LoMATensorIO

// The one mapping between the wire's tensor enums and LoMATensorIO's, used by the daemon to read
// requests and by lomactl to describe the KV files it sends (lomactl used to keep its own copy).
// Unspecified wire values resolve to the documented defaults here, in one place.

extension Loma_V1_DType {
    /// The dtype for KV, or nil for dtypes KV cannot have (i64, unspecified, unknown).
    public var kvDType: DType? {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .i64, .unspecified, .UNRECOGNIZED: nil
        }
    }

    public init(_ dtype: DType) {
        switch dtype {
        case .f32: self = .f32
        case .f16: self = .f16
        case .bf16: self = .bf16
        }
    }
}

extension Loma_V1_KVLayout {
    /// Unspecified means the Hugging Face layout (docs/protocol.md); nil for a value this
    /// version does not know.
    public var kvLayout: KVLayout? {
        switch self {
        case .headsMajor, .unspecified: .headsMajor
        case .tokensMajor: .tokensMajor
        case .UNRECOGNIZED: nil
        }
    }

    public init(_ layout: KVLayout) {
        switch layout {
        case .headsMajor: self = .headsMajor
        case .tokensMajor: self = .tokensMajor
        }
    }
}
