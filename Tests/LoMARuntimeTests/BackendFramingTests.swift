@testable import LoMARuntime
import Testing

/// The headers that frame messages between the broker and its workers (`BackendHeader`,
/// `BackendPartHeader`): what one side writes the other must read back exactly, and bytes that
/// are not a header must never pass for one.
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

    @Test("a part header carries its frame counts and a UTF-8 tenant")
    func partHeaderRoundTrip() {
        for tenant in ["default", "team b", "équipe-λ"] {
            let part = BackendPartHeader(routeFrames: 2, applicationFrames: 255, tenant: tenant)
            #expect(BackendPartHeader(part.bytes) == part)
        }
    }

    @Test("a part header without a tenant is refused")
    func partHeaderWithoutTenant() {
        #expect(BackendPartHeader([]) == nil)
        #expect(BackendPartHeader([1, 1]) == nil)
    }
}
