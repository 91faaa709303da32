import LoMAProtocol
@testable import LoMARuntime
import Testing
import ZeroMQ

/// The headers that frame messages between the broker and its workers (`BackendHeader`,
/// `BackendPartHeader`) and the handoff their tickets name: what one side writes the other must
/// read back exactly, bytes that are not a header must never pass for one, and a decoded request
/// goes to one worker only.
@Suite("Backend framing between the broker and its workers")
struct BackendFramingTests {
    @Test("every header kind reads back as written", arguments: [BackendHeader.Kind.ready, .requests, .reply])
    func headerRoundTrip(kind: BackendHeader.Kind) {
        for idle in [false, true] {
            let header = BackendHeader(kind: kind, count: 3, operation: 7, status: 13, workerIdle: idle)
            #expect(header.bytes.count == BackendHeader.size)
            #expect(BackendHeader(header.bytes) == header)
        }
    }

    @Test("bytes that are not a header are refused: wrong size, unknown kind")
    func malformedHeaders() {
        let valid = BackendHeader(kind: .reply, count: 1).bytes
        #expect(BackendHeader([]) == nil)
        #expect(BackendHeader(Array(valid.dropLast())) == nil)
        #expect(BackendHeader(valid + [0]) == nil)
        #expect(BackendHeader([0] + valid.dropFirst()) == nil, "kind 0")
        #expect(BackendHeader([4] + valid.dropFirst()) == nil, "kind 4")
    }

    @Test("a part header carries its route frame count, its whole 64-bit ticket and a UTF-8 tenant")
    func partHeaderRoundTrip() {
        for (tenant, ticket) in [("default", UInt64(1)), ("team b", 0x0102_0304_0506_0708), ("équipe-λ", .max)] {
            let part = BackendPartHeader(routeFrames: 2, ticket: ticket, tenant: tenant)
            #expect(BackendPartHeader(part.bytes) == part)
        }
    }

    @Test("a part header without a tenant is refused")
    func partHeaderWithoutTenant() {
        #expect(BackendPartHeader([]) == nil)
        #expect(BackendPartHeader(Array(BackendPartHeader(routeFrames: 1, ticket: 7, tenant: "t").bytes.dropLast())) == nil)
    }

    @Test("a decoded request is taken by its ticket exactly once")
    func handoffOnce() throws {
        let handoff = RequestHandoff()
        var envelope = Loma_V1_Request()
        envelope.requestID = 42
        envelope.health = Loma_V1_HealthRequest()
        let message = try DecodedMessage<Loma_V1_Request>(frames: [ZMQFrame(bytes: try envelope.serializedBytes() as [UInt8])],
                                                          limits: ProtocolLimits())
        let first = handoff.deposit(HandedOffRequest(message: message, peerUID: nil))
        let second = handoff.deposit(HandedOffRequest(message: message, peerUID: 7))
        #expect(first != second)
        let taken = handoff.take(second)
        #expect(taken?.message.envelope.requestID == 42)
        #expect(taken?.peerUID == 7)
        #expect(handoff.take(second) == nil, "taken twice")
        #expect(handoff.take(first + second + 1) == nil, "never deposited")
        #expect(handoff.count == 1)
    }
}
