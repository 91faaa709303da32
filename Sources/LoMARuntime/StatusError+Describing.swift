import LoMAProtocol

extension StatusError {
    /// A status for any error: status errors as they are, anything else as INTERNAL.
    public init(describing error: any Error) {
        if let status = error as? StatusError {
            self = status
        } else {
            self = .internalError("\(error)")
        }
    }
}
