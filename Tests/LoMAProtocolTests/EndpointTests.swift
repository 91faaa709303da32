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
}
