import LoMAModel
import LoMAProtocol

/// Mappings between the wire's enums and the engine's. Unspecified wire values resolve to the
/// documented defaults here, in one place.
extension Loma_V1_DType {
    /// The engine dtype for KV, or nil for dtypes KV cannot have (i64, unspecified).
    var kvDType: DType? {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .i64, .unspecified, .UNRECOGNIZED: nil
        }
    }

    init(_ dtype: DType) {
        switch dtype {
        case .f32: self = .f32
        case .f16: self = .f16
        case .bf16: self = .bf16
        }
    }
}

extension Loma_V1_KVLayout {
    /// Unspecified means the Hugging Face layout.
    var kvLayout: KVLayout? {
        switch self {
        case .headsMajor, .unspecified: .headsMajor
        case .tokensMajor: .tokensMajor
        case .UNRECOGNIZED: nil
        }
    }

    init(_ layout: KVLayout) {
        switch layout {
        case .headsMajor: self = .headsMajor
        case .tokensMajor: self = .tokensMajor
        }
    }
}

extension Loma_V1_CompressionMethod {
    var method: CompressionMethod? {
        switch self {
        case .loma: .loma
        case .meanPool: .meanPool
        case .strided: .strided
        case .UNRECOGNIZED: nil
        }
    }
}

extension LoMAModelError {
    /// Input errors are the client's; anything else is the daemon's.
    var statusError: StatusError {
        kind == .input ? .invalidArgument(message) : .internalError(message)
    }
}
