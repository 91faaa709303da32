import LoMATestSupport
import Testing
import ZeroMQ

@Suite("Zero-copy release callbacks")
struct ZeroCopyReleaseTests {
    @Test("Each zero-copy frame is released exactly once after delivery", arguments: ZMQTestTransport.allCases)
    func releasedOncePerFrame(transport: ZMQTestTransport) async throws {
        let frameCount = 25
        let context = try ZMQContext()
        let releases = ZMQReleaseCounter()

        let intactFrames = try await ZMQTestThread.run { () -> Int in
            let pull = try ZMQSocket(context: context, type: .pull)
            let push = try ZMQSocket(context: context, type: .push)
            try pull.setReceiveTimeout(10_000)
            try push.connect(try transport.bindUnique(pull))
            for index in 0..<frameCount {
                let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 1000 + index, alignment: 8)
                ZMQTestPayload.fill(buffer, seed: UInt64(index))
                try push.send(ZMQFrame(noCopy: UnsafeRawBufferPointer(buffer),
                                       release: releases.callback(deallocating: buffer)))
            }
            var intact = 0
            for index in 0..<frameCount {
                let frame = try received(pull.receiveFrame(), "frame \(index)")
                if ZMQTestPayload.frame(frame, equals: ZMQTestPayload.bytes(count: 1000 + index, seed: UInt64(index))) {
                    intact += 1
                }
            }
            return intact
        }
        #expect(intactFrames == frameCount)
        // Once terminate returns, libzmq holds no message any more: every callback has run.
        context.terminate()
        #expect(releases.count == frameCount)
    }

    @Test("A zero-copy frame that is never sent is released when dropped")
    func releasedWhenDroppedUnsent() throws {
        let releases = ZMQReleaseCounter()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64, alignment: 8)
        do {
            let frame = try ZMQFrame(noCopy: UnsafeRawBufferPointer(buffer),
                                     release: releases.callback(deallocating: buffer))
            #expect(frame.count == 64)
            #expect(releases.count == 0, "libzmq still refers to the buffer")
        }
        #expect(releases.count == 1)
    }

    @Test("A send that would block leaves the frame with the caller, released once later")
    func failedSendKeepsOwnership() throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let releases = ZMQReleaseCounter()
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 128, alignment: 8)
        do {
            // A DEALER with no peer has nowhere to queue the message.
            let dealer = try ZMQSocket(context: context, type: .dealer)
            let frame = try ZMQFrame(noCopy: UnsafeRawBufferPointer(buffer),
                                     release: releases.callback(deallocating: buffer))
            #expect(try dealer.send(frame, dontWait: true) == false)
            #expect(frame.count == 128, "the frame still holds its content")
            #expect(releases.count == 0)
        }
        #expect(releases.count == 1)
    }

    @Test("Sending moves the content out of the frame")
    func sendEmptiesFrame() async throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        let remaining = try await ZMQTestThread.run { () -> Int in
            let pull = try ZMQSocket(context: context, type: .pull)
            let push = try ZMQSocket(context: context, type: .push)
            try push.connect(try ZMQTestTransport.inproc.bindUnique(pull))
            let frame = ZMQFrame(string: "moved")
            try push.send(frame)
            return frame.count
        }
        #expect(remaining == 0)
    }
}
