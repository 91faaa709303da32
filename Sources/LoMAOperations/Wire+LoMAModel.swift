import LoMAModel
import LoMAProtocol

/// Mappings between the wire's enums and the engine's (the tensor ones, dtype and layout, live
/// in LoMAProtocol's Wire+TensorIO.swift, shared with lomactl).
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
