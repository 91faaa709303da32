import LoMATestSupport
import Testing
import ZeroMQ

@Suite("Multipart round trips")
struct MultipartRoundTripTests {
    @Test("DEALER to ROUTER and back keeps every part, in order", arguments: ZMQTestTransport.allCases)
    func multipartEcho(transport: ZMQTestTransport) async throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        // Sizes straddle libzmq's inline (VSM, <= 33 bytes) and heap message representations.
        let sizes = [0, 1, 33, 34, 4096, 300_000]
        let payloads = sizes.enumerated().map { ZMQTestPayload.bytes(count: $1, seed: UInt64($0 + 1)) }

        let (requestParts, echoed) = try await ZMQTestThread.run { () -> (Int, [[UInt8]]) in
            let router = try ZMQSocket(context: context, type: .router)
            let dealer = try ZMQSocket(context: context, type: .dealer)
            try dealer.setReceiveTimeout(10_000)
            try router.setReceiveTimeout(10_000)
            try dealer.connect(try transport.bindUnique(router))

            try dealer.send(payloads.map { ZMQFrame(bytes: $0) })
            let request = try received(router.receiveMessage(), "request at the ROUTER")
            try router.send(request)  // forwards the received frames, routing id first

            let reply = try received(dealer.receiveMessage(), "reply at the DEALER")
            return (request.count, reply.map(\.bytes))
        }
        #expect(requestParts == payloads.count + 1, "routing id plus every part")
        #expect(echoed == payloads)
    }

    @Test("A 64 MiB zero-copy frame arrives intact", arguments: ZMQTestTransport.allCases)
    func largeFrame(transport: ZMQTestTransport) async throws {
        let size = 64 << 20
        let context = try ZMQContext()
        let releases = ZMQReleaseCounter()

        let intact = try await ZMQTestThread.run { () -> Bool in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
            ZMQTestPayload.fill(buffer, seed: 64)
            let expected = [UInt8](UnsafeRawBufferPointer(buffer))  // what was sent, for comparison

            let pull = try ZMQSocket(context: context, type: .pull)
            let push = try ZMQSocket(context: context, type: .push)
            try pull.setReceiveTimeout(30_000)
            try push.connect(try transport.bindUnique(pull))
            try push.send(ZMQFrame(noCopy: UnsafeRawBufferPointer(buffer),
                                   release: releases.callback(deallocating: buffer)))
            let frame = try received(pull.receiveFrame(), "the 64 MiB frame")
            return ZMQTestPayload.frame(frame, equals: expected)
        }
        #expect(intact)
        context.terminate()
        #expect(releases.count == 1)
    }

    @Test("Frames sent with SNDMORE arrive as one message and report more parts")
    func moreFlag() async throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let parts = try await ZMQTestThread.run { () -> [String: Bool] in
            let pull = try ZMQSocket(context: context, type: .pull)
            let push = try ZMQSocket(context: context, type: .push)
            try pull.setReceiveTimeout(10_000)
            try push.connect(try ZMQTestTransport.inproc.bindUnique(pull))
            try push.send(ZMQFrame(string: "head"), more: true)
            try push.send(ZMQFrame(string: "tail"))

            let head = try received(pull.receiveFrame(), "first part")
            let moreAfterHead = try pull.hasMoreFrames
            let tail = try received(pull.receiveFrame(), "second part")
            let moreAfterTail = try pull.hasMoreFrames
            return [head.string: head.hasMore && moreAfterHead, tail.string: tail.hasMore || moreAfterTail]
        }
        #expect(parts == ["head": true, "tail": false])
    }
}
