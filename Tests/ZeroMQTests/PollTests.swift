import LoMATestSupport
import Testing
import ZeroMQ

@Suite("Polling")
struct PollTests {
    @Test("Poll times out with no events when nothing arrives")
    func timeoutWithoutEvents() async throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let events = try await ZMQTestThread.run { () -> [PollEvents] in
            let pull = try ZMQSocket(context: context, type: .pull)
            _ = try ZMQTestTransport.inproc.bindUnique(pull)
            return try ZMQPoller.poll([PollItem(socket: pull, events: .readable)], timeout: .milliseconds(20))
        }
        #expect(events == [[]])
    }

    @Test("Poll reports only the socket that has a message")
    func reportsReadySocket() async throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let events = try await ZMQTestThread.run { () -> [PollEvents] in
            let quiet = try ZMQSocket(context: context, type: .pull)
            let busy = try ZMQSocket(context: context, type: .pull)
            let push = try ZMQSocket(context: context, type: .push)
            _ = try ZMQTestTransport.inproc.bindUnique(quiet)
            try push.connect(try ZMQTestTransport.inproc.bindUnique(busy))
            try push.send(ZMQFrame(string: "ping"))
            // No timeout: the message is already queued, so a hang here is a failure.
            return try ZMQPoller.poll([PollItem(socket: quiet, events: .readable),
                                       PollItem(socket: busy, events: .readable)], timeout: nil)
        }
        #expect(events == [[], [.readable]])
    }

    @Test("Zero timeout polls without waiting, and a connected DEALER is writable")
    func zeroTimeoutAndWritable() async throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let events = try await ZMQTestThread.run { () -> [PollEvents] in
            let router = try ZMQSocket(context: context, type: .router)
            let dealer = try ZMQSocket(context: context, type: .dealer)
            try dealer.connect(try ZMQTestTransport.inproc.bindUnique(router))
            return try ZMQPoller.poll([PollItem(socket: dealer, events: [.readable, .writable])], timeout: .zero)
        }
        #expect(events == [[.writable]])
    }

    @Test("Polling a closed socket names the problem instead of crashing")
    func closedSocket() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let socket = try ZMQSocket(context: context, type: .pull)
        socket.close()
        let error = #expect(throws: ZMQError.self) {
            try ZMQPoller.poll([PollItem(socket: socket, events: .readable)], timeout: .zero)
        }
        #expect(error?.operation == "zmq_poll")
        #expect(error?.isTerminated == false)
    }
}
