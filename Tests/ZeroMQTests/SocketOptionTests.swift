import LoMATestSupport
import Testing
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

@Suite("Socket options")
struct SocketOptionTests {
    @Test("Binding tcp://127.0.0.1:* reads back a concrete, connectable port")
    func lastEndpointResolvesWildcard() async throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let (endpoint, reply) = try await ZMQTestThread.run { () -> (String, String) in
            let pull = try ZMQSocket(context: context, type: .pull)
            let push = try ZMQSocket(context: context, type: .push)
            try pull.setReceiveTimeout(10_000)
            try pull.bind(TestEndpoints.tcpLoopbackWildcard)
            let endpoint = try pull.lastEndpoint
            try push.connect(endpoint)
            try push.send(ZMQFrame(string: "hello"))
            return (endpoint, try received(pull.receiveFrame(), "message over tcp").string)
        }
        let port = endpoint.split(separator: ":").last.flatMap { Int($0) }
        #expect(endpoint.hasPrefix("tcp://127.0.0.1:"))
        #expect(port.map { $0 > 0 } == true, "got \(endpoint)")
        #expect(reply == "hello")
    }

    @Test("A ROUTER sees the routing id the DEALER set")
    func routingID() async throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let identity = Array("worker-1".utf8)
        let (seen, readBack) = try await ZMQTestThread.run { () -> ([UInt8], [UInt8]) in
            let router = try ZMQSocket(context: context, type: .router)
            let dealer = try ZMQSocket(context: context, type: .dealer)
            try router.setReceiveTimeout(10_000)
            try dealer.setRoutingID(identity)
            try dealer.connect(try ZMQTestTransport.ipc.bindUnique(router))
            try dealer.send(ZMQFrame(string: "ready"))
            let message = try received(router.receiveMessage(), "READY at the ROUTER")
            return (message[0].bytes, try dealer.routingID)
        }
        #expect(seen == identity)
        #expect(readBack == identity)
    }

    @Test("With ROUTER_MANDATORY a send to an unknown peer throws EHOSTUNREACH")
    func routerMandatory() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let router = try ZMQSocket(context: context, type: .router)
        try router.setRouterMandatory(true)
        let error = #expect(throws: ZMQError.self) {
            try router.send([ZMQFrame(string: "nobody"), ZMQFrame(string: "reply")], dontWait: true)
        }
        #expect(error?.code == EHOSTUNREACH)
    }

    @Test("A peer sending more than ZMQ_MAXMSGSIZE is cut off; others are still served")
    func maxMessageSize() async throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let delivered = try await ZMQTestThread.run { () -> [Int] in
            let pull = try ZMQSocket(context: context, type: .pull)
            try pull.setMaxMessageSize(1024)
            try pull.setReceiveTimeout(300)
            let endpoint = try ZMQTestTransport.tcp.bindUnique(pull)

            let oversized = try ZMQSocket(context: context, type: .push)
            try oversized.connect(endpoint)
            try oversized.send(ZMQFrame(bytes: [UInt8](repeating: 7, count: 4096)))
            let dropped = try pull.receiveFrame()

            let polite = try ZMQSocket(context: context, type: .push)
            try polite.connect(endpoint)
            try polite.send(ZMQFrame(bytes: [UInt8](repeating: 1, count: 512)))
            try pull.setReceiveTimeout(10_000)
            let accepted = try received(pull.receiveFrame(), "the message within the limit")
            return [dropped?.count ?? 0, accepted.count]
        }
        #expect(delivered == [0, 512])
    }

    /// Why lomad cannot change its hard frame limit on reload: libzmq copies the socket's options
    /// into each listener at bind, and connections accepted later get the listener's copy.
    @Test("ZMQ_MAXMSGSIZE set after bind does not reach connections to that endpoint")
    func maxMessageSizeIsFixedAtBind() async throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let delivered = try await ZMQTestThread.run { () -> Int in
            let pull = try ZMQSocket(context: context, type: .pull)
            try pull.setMaxMessageSize(1024)
            try pull.setReceiveTimeout(500)
            let endpoint = try ZMQTestTransport.tcp.bindUnique(pull)
            try pull.setMaxMessageSize(1 << 20)
            let push = try ZMQSocket(context: context, type: .push)
            try push.connect(endpoint)
            try push.send(ZMQFrame(bytes: [UInt8](repeating: 7, count: 4096)))
            return try pull.receiveFrame()?.count ?? 0
        }
        #expect(delivered == 0, "the raised limit reached a connection to an endpoint bound before it")
    }

    @Test("Receive timeout and dontWait return nil instead of blocking; dontWait send returns false")
    func nonBlockingCalls() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let pull = try ZMQSocket(context: context, type: .pull)
        _ = try ZMQTestTransport.inproc.bindUnique(pull)
        #expect(try pull.receiveFrame(dontWait: true) == nil)
        try pull.setReceiveTimeout(10)
        #expect(try pull.receiveMessage() == nil)

        let lonelyDealer = try ZMQSocket(context: context, type: .dealer)
        #expect(try lonelyDealer.send([ZMQFrame(string: "a"), ZMQFrame(string: "b")], dontWait: true) == false)
        try lonelyDealer.setSendTimeout(10)
        #expect(try lonelyDealer.send(ZMQFrame(string: "c")) == false)
    }

    @Test("Heartbeat, high-water-mark, immediate and linger options are accepted on a working pair")
    func optionsOnWorkingPair() async throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let reply = try await ZMQTestThread.run { () -> String in
            let router = try ZMQSocket(context: context, type: .router)
            let dealer = try ZMQSocket(context: context, type: .dealer)
            for socket in [router, dealer] {
                try socket.setHeartbeat(interval: 1000, timeout: 3000, ttl: 6000)
                try socket.setSendHighWaterMark(100)
                try socket.setReceiveHighWaterMark(100)
                try socket.setLinger(100)
                try socket.setReceiveTimeout(10_000)
            }
            try dealer.setImmediate(true)
            try dealer.connect(try ZMQTestTransport.tcp.bindUnique(router))
            try dealer.send(ZMQFrame(string: "ping"))
            let request = try received(router.receiveMessage(), "ping at the ROUTER")
            try router.send([request[0], ZMQFrame(string: "pong")])
            return try received(dealer.receiveFrame(), "pong at the DEALER").string
        }
        #expect(reply == "pong")
    }

    @Test("A subscriber gets what it subscribed to and not the rest")
    func publishSubscribe() async throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let topics = try await ZMQTestThread.run { () -> [String] in
            let publisher = try ZMQSocket(context: context, type: .publisher)
            let subscriber = try ZMQSocket(context: context, type: .subscriber)
            try subscriber.subscribe(Array("stats".utf8))
            try subscriber.connect(try ZMQTestTransport.inproc.bindUnique(publisher))
            // Subscriptions travel to the publisher asynchronously: publish until one lands.
            var seen: [String] = []
            for _ in 0..<1000 where seen.isEmpty {
                try publisher.send(ZMQFrame(string: "other"))
                try publisher.send(ZMQFrame(string: "stats"))
                let ready = try ZMQPoller.poll([PollItem(socket: subscriber, events: .readable)],
                                               timeout: .milliseconds(10))
                if ready == [.readable] {
                    while let frame = try subscriber.receiveFrame(dontWait: true) { seen.append(frame.string) }
                }
            }
            return seen
        }
        #expect(!topics.isEmpty)
        #expect(topics.allSatisfy { $0 == "stats" })
    }
}
