import Foundation
import LoMATestSupport
import Testing
import ZeroMQ

@Suite("Frames")
struct ZMQFrameTests {
    @Test("Copying initializers hold exactly the given bytes")
    func copyingInitializers() {
        let bytes = ZMQTestPayload.bytes(count: 100, seed: 3)
        #expect(ZMQFrame(bytes: bytes).bytes == bytes)
        #expect(ZMQFrame(Data(bytes)).data == Data(bytes))
        #expect(ZMQFrame(string: "grüß").string == "grüß")
        #expect(ZMQFrame(string: "grüß").count == 6)
        // A collection without contiguous storage takes the element-by-element path.
        #expect(ZMQFrame(bytes: UInt8(0)...UInt8(255)).bytes == Array(UInt8(0)...UInt8(255)))
        #expect(ZMQFrame().count == 0)
        #expect(ZMQFrame(bytes: [UInt8]()).bytes.isEmpty)
    }

    @Test("A frame made with a capacity is filled in place")
    func fillInPlace() throws {
        let frame = try ZMQFrame(capacity: 4096)
        #expect(frame.count == 4096)
        frame.withUnsafeMutableBytes { ZMQTestPayload.fill($0, seed: 9) }
        #expect(frame.bytes == ZMQTestPayload.bytes(count: 4096, seed: 9))
    }

    @Test("A negative capacity is refused with an error, not a crash")
    func negativeCapacity() {
        let error = #expect(throws: ZMQError.self) { try ZMQFrame(capacity: -1) }
        #expect(error?.operation == "zmq_msg_init_size(-1)")
    }

    @Test("Received bytes can be read at unaligned offsets without copying")
    func unalignedRead() async throws {
        let context = try ZMQContext()
        defer { context.terminate() }
        var payload: [UInt8] = [0xEE]
        withUnsafeBytes(of: Float(1.5).bitPattern.littleEndian) { payload.append(contentsOf: $0) }
        let sent = payload
        let value = try await ZMQTestThread.run { () -> Float in
            let pull = try ZMQSocket(context: context, type: .pull)
            let push = try ZMQSocket(context: context, type: .push)
            try pull.setReceiveTimeout(10_000)
            try push.connect(try ZMQTestTransport.ipc.bindUnique(pull))
            try push.send(ZMQFrame(bytes: sent))
            let frame = try received(pull.receiveFrame(), "the float frame")
            return frame.withUnsafeBytes {
                Float(bitPattern: UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: 1, as: UInt32.self)))
            }
        }
        #expect(value == 1.5)
    }

    @Test("The linked libzmq is 4.x with CURVE support")
    func versionAndCapabilities() {
        #expect(ZMQVersion.current.major == 4)
        #expect(ZMQCurve.isAvailable)
    }
}
