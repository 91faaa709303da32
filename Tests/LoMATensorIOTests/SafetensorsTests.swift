import Foundation
import LoMATensorIO
import LoMATestSupport
import Testing

@Suite struct SafetensorsTests {
    @Test(arguments: DType.allCases)
    func writerOutputReadsBack(_ dtype: DType) throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let values = (0..<24).map { Float($0) * 0.25 - 3 }
        var writer = SafetensorsWriter()
        writer.add("keys", Tensor(shape: [2, 3, 4], values: values), as: dtype)
        writer.add("positions", int64: [7, -1, 1 << 40])
        writer.metadata = ["format": "pt"]
        let url = scratch.url.appendingPathComponent("out.safetensors")
        try writer.write(to: url)

        let file = try SafetensorsFile(url: url)
        #expect(file["keys"]?.shape == [2, 3, 4])
        #expect(file["keys"]?.dtype == dtype)
        #expect(try file.readTensor("keys").scalars == values)  // quarter steps are exact in every dtype
        #expect(try file.readInt64("positions") == [7, -1, 1 << 40])
        #expect(file.metadata == ["format": "pt"])
        // Data starts 8-byte aligned after the padded header, as the format recommends.
        #expect((try file.info("keys").byteRange.lowerBound) % 8 == 0)
    }

    @Test func emptyFileIsRefused() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let url = scratch.url.appendingPathComponent("empty.safetensors")
        try Data().write(to: url)
        let error = #expect(throws: TensorIOError.self) { try SafetensorsFile(url: url, errorKind: .input) }
        #expect(error?.kind == .input && error?.message.contains("empty.safetensors") == true)
    }

    @Test func missingFileIsNamed() {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString).safetensors")
        let error = #expect(throws: TensorIOError.self) { try SafetensorsFile(url: url) }
        #expect(error?.message.contains(url.path) == true)
    }

    @Test func shardedCheckpointResolvesEveryTensorOfTheIndex() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        // Two shards and an index, as transformers writes them for a large model.
        let map = ["a.weight": "model-00001-of-00002.safetensors", "b.weight": "model-00001-of-00002.safetensors",
                   "c.weight": "model-00002-of-00002.safetensors"]
        for shard in Set(map.values) {
            var writer = SafetensorsWriter()
            for name in map.keys.sorted() where map[name] == shard {
                writer.add(name, Tensor(shape: [2], values: [1, 2]), as: .bf16)
            }
            try writer.write(to: scratch.url.appendingPathComponent(shard))
        }
        let index = try JSONSerialization.data(withJSONObject: ["metadata": [:] as [String: String], "weight_map": map])
        try index.write(to: scratch.url.appendingPathComponent("model.safetensors.index.json"))

        let checkpoint = try SafetensorsCheckpoint(directory: scratch.url)
        for (name, shard) in map {
            let located = try checkpoint.locate(name)
            #expect(located.file.url.lastPathComponent == shard)
            #expect(located.info.dtype == .bf16)
        }
        #expect(checkpoint.predominantDType == "BF16")
        #expect(checkpoint.storedBytes == 3 * 2 * 2)
        let error = #expect(throws: TensorIOError.self) { try checkpoint.locate("d.weight") }
        #expect(error?.kind == .checkpoint && error?.message.contains("missing tensor 'd.weight'") == true)
    }
}
