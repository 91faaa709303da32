import LoMAProtocol
import LoMATensorIO
import Testing

/// The one wire <-> dtype/layout mapping (Wire+TensorIO.swift) the daemon and lomactl share.
@Suite struct WireTensorMappingTests {
    @Test(arguments: DType.allCases)
    func everyDTypeRoundTripsThroughTheWire(_ dtype: DType) {
        let wire = Loma_V1_DType(dtype)
        #expect(wire.kvDType == dtype)
        #expect(wire.name == dtype.rawValue)
        #expect(wire.byteSize == dtype.byteSize)
    }

    @Test(arguments: [Loma_V1_DType.i64, .unspecified, .UNRECOGNIZED(42)])
    func dtypesKVCannotHaveMapToNothing(_ wire: Loma_V1_DType) {
        #expect(wire.kvDType == nil)
    }

    @Test(arguments: KVLayout.allCases)
    func everyLayoutRoundTripsThroughTheWire(_ layout: KVLayout) {
        let wire = Loma_V1_KVLayout(layout)
        #expect(wire.kvLayout == layout)
        #expect(wire.name == layout.rawValue)
    }

    @Test func unspecifiedLayoutIsHeadsMajorAndUnknownIsNothing() {
        #expect(Loma_V1_KVLayout.unspecified.kvLayout == .headsMajor)
        #expect(Loma_V1_KVLayout.UNRECOGNIZED(9).kvLayout == nil)
    }
}
