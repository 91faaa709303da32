/// A command line `lomad-test-daemon` cannot take, named in its message.
struct TestDaemonArgumentError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}
