/// The inproc endpoints that connect the broker to its workers and to whoever asks it to stop.
/// Named per daemon instance so that several daemons in one process (tests) never meet.
struct BrokerEndpoints: Sendable {
    let workers: String
    let control: String
    /// Where the client ROUTER's monitor reports connections (`ConnectionGate`).
    let connectionEvents: String

    init(instance: String) {
        workers = "inproc://lomad-\(instance)-workers"
        control = "inproc://lomad-\(instance)-control"
        connectionEvents = "inproc://lomad-\(instance)-connections"
    }
}
