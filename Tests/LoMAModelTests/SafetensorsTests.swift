import Foundation
import LoMAModel
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
        let error = #expect(throws: LoMAModelError.self) { try SafetensorsFile(url: url, errorKind: .input) }
        #expect(error?.kind == .input && error?.message.contains("empty.safetensors") == true)
    }

    @Test func missingFileIsNamed() {
        let url = URL(fileURLWithPath: "/nonexistent-\(UUID().uuidString).safetensors")
        let error = #expect(throws: LoMAModelError.self) { try SafetensorsFile(url: url) }
        #expect(error?.message.contains(url.path) == true)
    }

    @Test func shardedCheckpointResolvesEveryTensorOfTheIndex() throws {
        let directory = fixtures.model("llama_sharded")
        let checkpoint = try SafetensorsCheckpoint(directory: directory)
        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("model.safetensors.index.json")))
        let map = try #require((index as? [String: Any])?["weight_map"] as? [String: String])
        #expect(Set(map.values).count > 1)
        for (name, shard) in map {
            let located = try checkpoint.locate(name)
            #expect(located.file.url.lastPathComponent == shard)
        }
    }
}
