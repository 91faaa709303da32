import LoMAProtocol
import LoMAStore

extension StoreError {
    /// The store's error kinds mirror the protocol's status codes one to one.
    var statusError: StatusError {
        switch kind {
        case .notFound: .notFound(message)
        case .invalidArgument: .invalidArgument(message)
        case .failedPrecondition: .failedPrecondition(message)
        case .resourceExhausted: .resourceExhausted(message)
        case .internal: .internalError(message)
        case .dataLoss: .dataLoss(message)
        case .unavailable: .unavailable(message)
        }
    }
}

/// Runs a store call, turning its error into the status the client sees.
@discardableResult
func storeCall<Result>(_ body: () throws(StoreError) -> Result) throws(StatusError) -> Result {
    do {
        return try body()
    } catch {
        throw error.statusError
    }
}
