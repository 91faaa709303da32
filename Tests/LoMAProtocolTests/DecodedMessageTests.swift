import LoMAProtocol
import Testing
import ZeroMQ

@Suite("Decoding and validating loma.v1 messages")
struct DecodedMessageTests {
    private let limits = ProtocolLimits(maxFrameBytes: 1 << 20, maxFrames: 8)

    private func compressFrames(keyBytes: Int = 64, valueShape: [Int] = [1, 1, 4, 4]) throws -> [ZMQFrame] {
        var message = OutgoingMessage()
        var compress = Loma_V1_CompressRequest()
        compress.model = "m"
        compress.segment.keys = message.attach(ZMQFrame(bytes: [UInt8](repeating: 1, count: keyBytes)),
                                               dtype: .f32, shape: [1, 1, 4, 4], layout: .headsMajor)
        compress.segment.values = message.attach(ZMQFrame(bytes: [UInt8](repeating: 2, count: 32)),
                                                 dtype: .bf16, shape: valueShape, layout: .tokensMajor)
        var request = Loma_V1_Request()
        request.requestID = 5
        request.compress = compress
        return try message.frames(envelope: request)
    }

    @Test("an outgoing message decodes back to the same envelope and tensors")
    func roundTrip() throws {
        let decoded = try DecodedMessage<Loma_V1_Request>(frames: try compressFrames(), limits: limits)
        #expect(decoded.envelope.requestID == 5)
        guard case .compress(let compress)? = decoded.envelope.operation else {
            Issue.record("not a compress request")
            return
        }
        let keys = try #require(decoded.tensor(compress.segment.keys))
        #expect(keys.shape == [1, 1, 4, 4])
        #expect(keys.dtype == .f32)
        #expect(keys.frame.bytes == [UInt8](repeating: 1, count: 64))
        let values = try #require(decoded.tensor(compress.segment.values))
        #expect(values.layout == .tokensMajor)
        #expect(values.elementCount == 16)
    }

    @Test("a size mismatch names the role, the shape and the frame")
    func sizeMismatch() throws {
        #expect {
            try DecodedMessage<Loma_V1_Request>(frames: try compressFrames(keyBytes: 63), limits: limits)
        } throws: { error in
            let status = error as? StatusError
            return status?.code == .invalidArgument
                && status?.message.contains("compress.segment.keys") == true
                && status?.message.contains("frame 1 holds 63 bytes") == true
        }
    }

    @Test("shapes whose byte count overflows are refused, not trapped on")
    func overflowingShape() throws {
        #expect(throws: StatusError.self) {
            try DecodedMessage<Loma_V1_Request>(frames: try compressFrames(valueShape: [Int.max / 2, 4, 1, 1]), limits: limits)
        }
    }

    @Test("the frame-count and frame-size limits apply before parsing")
    func limitsApply() throws {
        let tight = ProtocolLimits(maxFrameBytes: 40, maxFrames: 8)
        #expect {
            try DecodedMessage<Loma_V1_Request>(frames: try compressFrames(), limits: tight)
        } throws: { ($0 as? StatusError)?.code == .resourceExhausted }
        let few = ProtocolLimits(maxFrameBytes: 1 << 20, maxFrames: 2)
        #expect {
            try DecodedMessage<Loma_V1_Request>(frames: try compressFrames(), limits: few)
        } throws: { ($0 as? StatusError)?.message.contains("3 frames") == true }
    }

    @Test("replies are validated the same way")
    func replyValidation() throws {
        var message = OutgoingMessage()
        var reply = Loma_V1_Reply()
        var compress = Loma_V1_CompressReply()
        compress.memory.keys = message.attach(ZMQFrame(bytes: [0, 0, 0, 0]), dtype: .f32, shape: [1, 1, 1, 1])
        compress.memory.values = message.attach(ZMQFrame(bytes: [0, 0]), dtype: .f32, shape: [1, 1, 1, 1])
        reply.compress = compress
        #expect {
            try DecodedMessage<Loma_V1_Reply>(frames: try message.frames(envelope: reply), limits: limits)
        } throws: { ($0 as? StatusError)?.message.contains("compress.memory.values") == true }
    }
}
