import LoMATestSupport
import Testing
import ZeroMQ

#if canImport(Glibc)
import Glibc
#endif

/// What lomad's connection limit is built from: the monitor reports each accepted connection
/// with its descriptor and reports the same descriptor when it goes; `ZMQ_HANDSHAKE_IVL` closes
/// a connection that never greets; and a connection shut down under libzmq is dropped by it.
@Suite("Connection monitor and handshake timeout")
struct ConnectionMonitorTests {
    /// Reads monitor events until `count` arrived (or nothing came for ten seconds).
    private func events(_ monitor: ZMQSocket, count: Int) throws -> [ZMQSocketEvent] {
        var events: [ZMQSocketEvent] = []
        while events.count < count, let frames = try monitor.receiveMessage() {
            if let event = ZMQSocketEvent(frames: frames) { events.append(event) }
        }
        return events
    }

    @Test("A silent connection is closed after the handshake interval; accept and disconnect name its descriptor", arguments: [ZMQTestTransport.ipc, .tcp])
    func silentConnectionTimesOut(transport: ZMQTestTransport) async throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let (accepted, disconnected, closed) = try await ZMQTestThread.run { () -> (ZMQSocketEvent?, ZMQSocketEvent?, Int) in
            let router = try ZMQSocket(context: context, type: .router)
            try router.setHandshakeInterval(100)
            let monitor = try ZMQSocket(context: context, type: .pair)
            try monitor.setReceiveTimeout(10_000)
            try router.monitor("inproc://silent-monitor", events: [.accepted, .disconnected])
            try monitor.connect("inproc://silent-monitor")
            let endpoint = try transport.bindUnique(router)
            let raw = RawConnections()
            try raw.open(1, to: endpoint)
            let seen = try events(monitor, count: 2)
            return (seen.first { $0.event == .accepted }, seen.first { $0.event == .disconnected }, raw.waitUntilClosedByPeer(1))
        }
        let descriptor = try #require(accepted).value
        #expect(try #require(disconnected).value == descriptor)
        #expect(closed == 1)
    }

    @Test("shutdown(2) on an accepted descriptor makes libzmq drop the connection and report it")
    func shutdownDropsConnection() async throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let (accepted, disconnected, closed) = try await ZMQTestThread.run { () -> (ZMQSocketEvent?, ZMQSocketEvent?, Int) in
            let router = try ZMQSocket(context: context, type: .router)
            let monitor = try ZMQSocket(context: context, type: .pair)
            try monitor.setReceiveTimeout(10_000)
            try router.monitor("inproc://shutdown-monitor", events: [.accepted, .disconnected])
            try monitor.connect("inproc://shutdown-monitor")
            let raw = RawConnections()
            try raw.open(1, to: try ZMQTestTransport.tcp.bindUnique(router))
            let first = try events(monitor, count: 1).first
            if let first { _ = shutdown(Int32(bitPattern: first.value), Int32(SHUT_RDWR)) }
            let second = try events(monitor, count: 1).first
            return (first, second, raw.waitUntilClosedByPeer(1))
        }
        #expect(try #require(accepted).event == .accepted)
        #expect(try #require(disconnected).event == .disconnected)
        #expect(disconnected?.value == accepted?.value)
        #expect(closed == 1)
    }
}
