import Foundation
import LoMAProtocol
import LoMATestSupport
import Testing

/// One bad request: the frames it sends and the status it must get back.
struct MalformedCase: CustomTestStringConvertible, Sendable {
    let name: String
    let frames: @Sendable () throws -> [[UInt8]]
    let code: Loma_V1_StatusCode
    /// A phrase the message must contain, so the status is precise and not merely right by luck.
    let phrase: String

    var testDescription: String { name }
}

/// Small limits so oversized input is cheap to send.
private let maxFrameBytes = 64 << 10

private func compressEnvelope(_ configure: (inout Loma_V1_CompressRequest) -> Void) throws -> [UInt8] {
    var compress = Loma_V1_CompressRequest()
    compress.model = "default"
    configure(&compress)
    var request = Loma_V1_Request()
    request.requestID = 7
    request.compress = compress
    return try request.serializedBytes()
}

private func descriptor(_ dtype: Loma_V1_DType, _ shape: [UInt64], frame: UInt32) -> Loma_V1_TensorDescriptor {
    var descriptor = Loma_V1_TensorDescriptor()
    descriptor.dtype = dtype
    descriptor.shape = shape
    descriptor.layout = .headsMajor
    descriptor.frame = frame
    return descriptor
}

let malformedCases: [MalformedCase] = [
    MalformedCase(name: "bytes that are not protobuf", frames: { [[0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 0x12]] },
                  code: .invalidArgument, phrase: "not a valid loma.v1.Request envelope"),
    MalformedCase(name: "an empty message", frames: { [[]] },
                  code: .invalidArgument, phrase: "names no operation"),
    MalformedCase(name: "an unknown operation", frames: {
        // Field 99 (varint), a request operation from a newer protocol.
        [[0x08, 0x05, 0x98, 0x06, 0x01]]
    }, code: .unimplemented, phrase: "does not know"),
    MalformedCase(name: "a descriptor pointing at a missing frame", frames: {
        [try compressEnvelope {
            $0.segment.keys = descriptor(.f32, [1, 1, 4, 4], frame: 1)
            $0.segment.values = descriptor(.f32, [1, 1, 4, 4], frame: 3)
        }, [UInt8](repeating: 0, count: 64)]
    }, code: .invalidArgument, phrase: "compress.segment.values names frame 3"),
    MalformedCase(name: "a frame size not equal to shape x dtype size", frames: {
        [try compressEnvelope {
            $0.segment.keys = descriptor(.f32, [1, 1, 4, 4], frame: 1)
            $0.segment.values = descriptor(.f32, [1, 1, 4, 4], frame: 2)
        }, [UInt8](repeating: 0, count: 64), [UInt8](repeating: 0, count: 60)]
    }, code: .invalidArgument, phrase: "frame 2 holds 60 bytes"),
    MalformedCase(name: "two descriptors naming one frame", frames: {
        [try compressEnvelope {
            $0.segment.keys = descriptor(.f16, [1, 1, 4, 4], frame: 1)
            $0.segment.values = descriptor(.f16, [1, 1, 4, 4], frame: 1)
        }, [UInt8](repeating: 0, count: 32)]
    }, code: .invalidArgument, phrase: "both name frame 1"),
    MalformedCase(name: "a frame no descriptor names", frames: {
        [try WireProbe.healthRequest(id: 3), [1, 2, 3]]
    }, code: .invalidArgument, phrase: "frame 1 is not described"),
    MalformedCase(name: "an unspecified dtype", frames: {
        [try compressEnvelope {
            $0.segment.keys = descriptor(.unspecified, [1, 1, 4, 4], frame: 1)
        }, [UInt8](repeating: 0, count: 64)]
    }, code: .invalidArgument, phrase: "has dtype unspecified"),
    MalformedCase(name: "an absurd shape of 2^60 elements", frames: {
        [try compressEnvelope {
            $0.segment.keys = descriptor(.bf16, [1 << 20, 1 << 20, 1 << 20, 1], frame: 1)
        }, [UInt8](repeating: 0, count: 64)]
    }, code: .invalidArgument, phrase: "but frame 1 holds 64 bytes"),
    MalformedCase(name: "a shape whose byte size overflows", frames: {
        [try compressEnvelope {
            $0.segment.keys = descriptor(.f32, [1 << 40, 1 << 40, 1, 1], frame: 1)
        }, [UInt8](repeating: 0, count: 64)]
    }, code: .invalidArgument, phrase: "overflows 64 bits"),
    MalformedCase(name: "a zero axis", frames: {
        [try compressEnvelope {
            $0.segment.keys = descriptor(.f32, [1, 0, 4, 4], frame: 1)
        }, [UInt8](repeating: 0, count: 64)]
    }, code: .invalidArgument, phrase: "every axis must be positive"),
    MalformedCase(name: "too many frames", frames: {
        [try WireProbe.healthRequest(id: 3)] + Array(repeating: [0], count: 20)
    }, code: .resourceExhausted, phrase: "at most 16 are accepted"),
    MalformedCase(name: "a frame over the frame limit", frames: {
        [try compressEnvelope {
            $0.segment.keys = descriptor(.f32, [1, 1, 1, UInt64(maxFrameBytes / 4 + 1)], frame: 1)
        }, [UInt8](repeating: 0, count: maxFrameBytes + 4)]
    }, code: .resourceExhausted, phrase: "frames of at most \(maxFrameBytes) bytes"),
]

@Suite("Malformed requests against a real lomad process")
struct MalformedRequestTests {
    @Test(arguments: malformedCases)
    func answeredWithPreciseStatusAndDaemonKeepsServing(_ badCase: MalformedCase) throws {
        let daemon = try DaemonProcess(arguments: ["--max-frame-bytes", "\(maxFrameBytes)"])
        let probe = try WireProbe(endpoint: daemon.endpoint)
        let reply = try #require(try probe.exchange(badCase.frames()), "no reply; daemon log:\n\(daemon.log)")
        #expect(reply.envelope.status.code == badCase.code)
        #expect(reply.envelope.status.message.contains(badCase.phrase), "message: \(reply.envelope.status.message)")
        #expect(reply.envelope.result == nil)
        #expect(try probe.stillServes())
        #expect(daemon.process.isRunning)
    }

    @Test("a frame past ZMQ_MAXMSGSIZE drops the connection, and the daemon keeps serving")
    func frameOverHardLimitDropsConnection() throws {
        let daemon = try DaemonProcess(arguments: ["--max-frame-bytes", "\(maxFrameBytes)"])
        let probe = try WireProbe(endpoint: daemon.endpoint)
        let oversized = [UInt8](repeating: 1, count: maxFrameBytes * 4 + 1)
        #expect(try probe.exchange([try WireProbe.healthRequest(id: 1), oversized], timeout: .seconds(1)) == nil)
        // The DEALER reconnects by itself; a fresh connection is served too.
        #expect(try probe.stillServes())
        #expect(try WireProbe(endpoint: daemon.endpoint).stillServes())
    }

    @Test("the request id is echoed, also on errors")
    func requestIDEchoed() throws {
        let daemon = try DaemonProcess()
        let probe = try WireProbe(endpoint: daemon.endpoint)
        let ok = try #require(try probe.exchange([try WireProbe.healthRequest(id: 991)]))
        #expect(ok.envelope.requestID == 991)
        let failed = try #require(try probe.exchange([try compressEnvelope { _ in }]))
        #expect(failed.envelope.requestID == 7)
        #expect(failed.envelope.status.code != .ok)
    }
}
