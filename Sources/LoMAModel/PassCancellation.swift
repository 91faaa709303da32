/// Asked between the steps of a long pass (every layer of every segment) whether to go on, so a
/// caller can stop work whose result nobody will take: a daemon at its shutdown deadline, or a
/// request past its compute limit. Without it a pass over thousands of segments runs to its end
/// however long that is.
///
/// The engine knows nothing about who stops a pass or why: the caller's check returns the error
/// the pass should end with (nil to go on), and `compress` throws exactly that error, having
/// produced no result. Checks run on the computing thread, so they must be cheap and thread-safe.
public struct PassCancellation: Sendable {
    private let check: @Sendable () -> (any Error)?

    /// - Parameter check: nil to go on, or the error to stop the pass with.
    public init(_ check: @escaping @Sendable () -> (any Error)?) {
        self.check = check
    }

    /// A pass that always runs to its end.
    public static let never = PassCancellation { nil }

    /// Throws the check's error when the pass must stop.
    func checkpoint() throws {
        if let error = check() { throw error }
    }
}
