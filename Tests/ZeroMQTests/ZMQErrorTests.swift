import LoMATestSupport
import Testing
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

@Suite("Errors")
struct ZMQErrorTests {
    @Test("A malformed endpoint is named in the error")
    func malformedEndpoint() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let socket = try ZMQSocket(context: context, type: .router)
        let error = #expect(throws: ZMQError.self) { try socket.bind("tcp://not a host") }
        #expect(error?.operation == "zmq_bind(tcp://not a host)")
        #expect(error?.description.contains("tcp://not a host") == true)
        #expect(error?.isTerminated == false)
        #expect(error?.isWouldBlock == false)
    }

    @Test("An unknown transport is reported as EPROTONOSUPPORT")
    func unknownTransport() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let socket = try ZMQSocket(context: context, type: .dealer)
        let error = #expect(throws: ZMQError.self) { try socket.connect("carrier-pigeon://coop") }
        #expect(error?.code == EPROTONOSUPPORT)
    }

    @Test("Binding an ipc endpoint that is in use fails with EADDRINUSE")
    func addressInUse() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let first = try ZMQSocket(context: context, type: .router)
        let second = try ZMQSocket(context: context, type: .router)
        let endpoint = TestEndpoints.uniqueInproc()
        try first.bind(endpoint)
        let error = #expect(throws: ZMQError.self) { try second.bind(endpoint) }
        #expect(error?.code == EADDRINUSE)
    }

    @Test("A closed socket throws ENOTSOCK for every call; closing again is harmless")
    func closedSocket() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let socket = try ZMQSocket(context: context, type: .pair)
        socket.close()
        socket.close()
        #expect(socket.isClosed)
        let calls: [(String, () throws -> Void)] = [
            ("bind", { try socket.bind(TestEndpoints.uniqueInproc()) }),
            ("send", { try socket.send(ZMQFrame(string: "x")) }),
            ("receive", { _ = try socket.receiveFrame(dontWait: true) }),
            ("option", { try socket.setLinger(0) }),
            ("lastEndpoint", { _ = try socket.lastEndpoint }),
        ]
        for (name, call) in calls {
            let error = #expect(throws: ZMQError.self, "\(name) on a closed socket") { try call() }
            #expect(error?.code == ENOTSOCK, "\(name)")
        }
    }

    @Test("Sending a message with no frames is refused, not silently ignored")
    func emptyMessage() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let socket = try ZMQSocket(context: context, type: .dealer)
        let error = #expect(throws: ZMQError.self) { try socket.send([ZMQFrame]()) }
        #expect(error?.code == EINVAL)
    }

    @Test("A malformed CURVE key is rejected with the option's name")
    func badCurveKey() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let socket = try ZMQSocket(context: context, type: .dealer)
        let error = #expect(throws: ZMQError.self) {
            try socket.setCurveKeys(publicKey: "too short", secretKey: "also too short", serverKey: nil)
        }
        #expect(error?.code == EINVAL)
        #expect(error?.operation == "zmq_setsockopt(ZMQ_CURVE_PUBLICKEY)")
    }
}

@Suite("Context creation")
struct ZMQContextCreationTests {
    @Test("An impossible I/O thread count is refused with the setting named, and nothing leaks or crashes")
    func badIOThreadCount() {
        let error = #expect(throws: ZMQError.self) { try ZMQContext(ioThreads: -1) }
        #expect(error?.operation == "zmq_ctx_set(ZMQ_IO_THREADS, -1)")
    }
}
