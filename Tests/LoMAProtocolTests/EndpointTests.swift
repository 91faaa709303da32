import LoMAProtocol
import Testing

@Suite("Endpoint parsing")
struct EndpointTests {
    @Test(arguments: ["ipc:///run/lomad/lomad.sock", "tcp://127.0.0.1:5555", "tcp://*:*", "tcp://[::1]:7000"])
    func accepted(_ text: String) throws {
        #expect(try Endpoint(text).description == text)
    }

    @Test(arguments: ["/run/lomad.sock", "udp://1.2.3.4:5", "tcp://localhost", "ipc://", "inproc://x"])
    func refused(_ text: String) {
        #expect(throws: StatusError.self) { try Endpoint(text) }
    }

    @Test("the default is an ipc socket")
    func defaultEndpoint() {
        #expect(Endpoint.defaultIPC.transport == .ipc)
        #expect(Endpoint.defaultIPC.address.hasSuffix("/lomad.sock"))
    }

    @Test("clients accept an absolute socket path and HOST:PORT with a name, IPv4 or [IPv6]",
          arguments: ["ipc:///run/lomad/lomad.sock", "tcp://127.0.0.1:5555", "tcp://lomad-1.internal:1", "tcp://[::1]:65535",
                      "tcp://[fe80::1%eth0]:7000"])
    func clientAccepted(_ text: String) throws {
        #expect(try Endpoint(connectingTo: text).description == text)
    }

    @Test("clients are told the fix for each kind of bad endpoint", arguments: [
        ("/tmp/x.sock", "not an endpoint: '/tmp/x.sock'; did you mean ipc:///tmp/x.sock?"),
        ("ipc://tmp/x", "ipc path 'tmp/x' is relative; write ipc:///tmp/x"),
        ("localhost:5555", "did you mean tcp://localhost:5555?"),
        ("udp://1.2.3.4:5", "unknown transport 'udp'"),
        ("ipc://", "has no socket path"),
        ("tcp://localhost", "has no port; write tcp://localhost:PORT"),
        ("tcp://localhost:", "has no port"),
        ("tcp://localhost:0", "not a number from 1 to 65535"),
        ("tcp://localhost:65536", "not a number from 1 to 65535"),
        ("tcp://localhost:http", "not a number from 1 to 65535"),
        ("tcp://*:5555", "is for binding"),
        ("tcp://::1:5555", "IPv6 host in brackets"),
        ("tcp://[::1:5555", "never closes it"),
        ("tcp://bad host:1", "not a host name"),
    ])
    func clientRefused(_ text: String, _ expected: String) {
        #expect {
            try Endpoint(connectingTo: text)
        } throws: { error in
            guard let error = error as? EndpointError else { return false }
            return error.endpoint == text && error.description.contains(expected)
        }
    }

    @Test("the default endpoint is one a client can use")
    func defaultIsReachable() throws {
        #expect(try Endpoint(connectingTo: Endpoint.defaultIPC.description) == Endpoint.defaultIPC)
    }
}
