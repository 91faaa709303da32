import Dispatch
import LoMATestSupport
import Testing
import ZeroMQ

@Suite("Shutdown")
struct ShutdownTests {
    /// Where the socket owner is blocked when the context goes away.
    enum BlockedCall: String, CaseIterable, CustomStringConvertible {
        case receiveMessage, poll, sendToFullQueue
        var description: String { rawValue }
    }

    @Test("terminate() unblocks a thread waiting on its socket; the owner closes it and terminate returns",
          arguments: BlockedCall.allCases)
    func terminateWhileBlocked(call: BlockedCall) async throws {
        let context = try ZMQContext()
        let socketReady = DispatchSemaphore(value: 0)

        // The documented pattern: the owner thread sees ETERM, closes its socket, leaves.
        async let ownerOutcome = ZMQTestThread.run("socket owner", timeout: .seconds(30)) { () -> ZMQError? in
            let socket = try ZMQSocket(context: context, type: call == .sendToFullQueue ? .dealer : .pull)
            defer { socket.close() }
            try socket.bind(TestEndpoints.uniqueInproc())
            socketReady.signal()
            do {
                switch call {
                case .receiveMessage:
                    _ = try socket.receiveMessage()
                case .poll:
                    _ = try ZMQPoller.poll([PollItem(socket: socket, events: .readable)], timeout: nil)
                case .sendToFullQueue:
                    // A DEALER without peers blocks in send until one connects.
                    try socket.send(ZMQFrame(string: "nobody listens"))
                }
                return nil
            } catch let error as ZMQError {
                return error
            }
        }

        try await ZMQTestThread.run("terminate", timeout: .seconds(30)) {
            socketReady.wait()
            context.terminate()
        }
        let error = try await ownerOutcome
        #expect(error?.isTerminated == true, "the blocked call must end with ETERM, got \(String(describing: error))")
    }

    @Test("After shutdown(), calls and new sockets fail with isTerminated and terminate() still returns")
    func shutdownThenTerminate() async throws {
        let context = try ZMQContext()
        let outcome = try await ZMQTestThread.run(timeout: .seconds(30)) { () -> [Bool] in
            let socket = try ZMQSocket(context: context, type: .pull)
            try socket.bind(TestEndpoints.uniqueInproc())
            context.shutdown()
            var terminated: [Bool] = []
            do { _ = try socket.receiveFrame(dontWait: true) } catch let error as ZMQError {
                terminated.append(error.isTerminated)
            }
            do { _ = try ZMQSocket(context: context, type: .push) } catch let error as ZMQError {
                terminated.append(error.isTerminated)
            }
            socket.close()
            context.terminate()
            context.terminate()  // idempotent
            do { _ = try ZMQSocket(context: context, type: .push) } catch let error as ZMQError {
                terminated.append(error.isTerminated)
            }
            return terminated
        }
        #expect(outcome == [true, true, true])
    }

    @Test("A context released with its sockets terminates without hanging on unsent messages")
    func releaseWithPendingMessages() async throws {
        try await ZMQTestThread.run(timeout: .seconds(30)) {
            let context = try ZMQContext()
            let push = try ZMQSocket(context: context, type: .push)
            // Queued for a peer that never binds: with the default linger 0 it is dropped.
            try push.connect(TestEndpoints.uniqueIPC())
            try push.send(ZMQFrame(string: "undeliverable"))
            push.close()
            context.terminate()
        }
    }
}
