/// A published prefix chunk: the segment holding its memory, plus the geometry so a publish with
/// a different shape for the same model is refused without decoding stored segments.
struct PrefixEntry: Equatable {
    let segment: SegmentID
    let shape: MemoryShape

    var encoded: [UInt8] {
        var writer = BinaryWriter(capacity: 20)
        writer.write(segment.rawValue)
        for dimension in [shape.layers, shape.kvHeads, shape.headDim] { writer.write(UInt32(dimension)) }
        return writer.bytes
    }

    init(segment: SegmentID, shape: MemoryShape) {
        self.segment = segment
        self.shape = shape
    }

    init(encoded bytes: UnsafeRawBufferPointer, context: String) throws(StoreError) {
        var reader = BinaryReader(bytes, context: context)
        segment = SegmentID(rawValue: try reader.read(UInt64.self, field: "segment id"))
        let limit = MemorySegment.dimensionLimit
        shape = MemoryShape(layers: try reader.readCount(field: "layers", limit: limit),
                            kvHeads: try reader.readCount(field: "kvHeads", limit: limit),
                            headDim: try reader.readCount(field: "headDim", limit: limit))
        try reader.requireEnd()
    }
}
