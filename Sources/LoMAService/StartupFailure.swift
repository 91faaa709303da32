/// `Daemon.run` could not start serving. The reason is already logged (to the journal,
/// where an operator looks), so the executable only has to exit with a failure status.
public struct StartupFailure: Error {
    public init() {}
}
