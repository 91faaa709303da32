import Foundation
import LoMATensorIO
import LoMATestSupport
import Testing

/// KV files and views (docs/loma-spec.md section 6): what the daemon, `lomad compress` and the
/// fuzz target read, checked to name the file and tensor at fault.
@Suite struct KVFileTests {
    /// `[layers, kv_heads, tokens, head_dim]` = `[2, 3, 4, 5]`, each element its own index.
    static let headsMajor = Tensor(shape: [2, 3, 4, 5], values: (0..<120).map(Float.init))

    /// The same block transposed to `[layers, tokens, kv_heads, head_dim]`.
    static var tokensMajorValues: [Float] {
        var values: [Float] = []
        for layer in 0..<2 {
            for token in 0..<4 {
                for head in 0..<3 {
                    for dim in 0..<5 { values.append(Float(((layer * 3 + head) * 4 + token) * 5 + dim)) }
                }
            }
        }
        return values
    }

    @Test(arguments: DType.allCases)
    func writtenFileReadsBackWithPositions(_ dtype: DType) throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let url = scratch.url.appendingPathComponent("memory.safetensors")
        let values = Tensor(shape: [2, 3, 4, 5], values: Self.headsMajor.scalars.map { -$0 })
        try KVFile.write(keys: Self.headsMajor, values: values, positions: [3, 7, 11, 15], to: url, dtype: dtype)

        let file = try KVFile(url: url)
        #expect(file.dtype == dtype)
        #expect(file.keys.toHeadsMajorTensor().scalars == Self.headsMajor.scalars)  // small integers are exact in bf16
        #expect(file.values.toHeadsMajorTensor().scalars == values.scalars)
        #expect(try file.file.readInt64("positions") == [3, 7, 11, 15])
    }

    @Test func tokensMajorFileReadsAsTheSameBlock() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        let url = scratch.url.appendingPathComponent("vllm.safetensors")
        var writer = SafetensorsWriter()
        let transposed = Tensor(shape: [2, 4, 3, 5], values: Self.tokensMajorValues)
        writer.add("keys", transposed, as: .f16)
        writer.add("values", transposed, as: .f16)
        try writer.write(to: url)

        let file = try KVFile(url: url, layout: .tokensMajor)
        #expect((file.keys.layers, file.keys.kvHeads, file.keys.tokens, file.keys.headDim) == (2, 3, 4, 5))
        #expect(file.keys.toHeadsMajorTensor().shape == [2, 3, 4, 5])
        #expect(file.keys.toHeadsMajorTensor().scalars == Self.headsMajor.scalars)
    }

    @Test func viewSizeMustMatchBytes() {
        let bytes = [UInt8](repeating: 0, count: 10)
        bytes.withUnsafeBytes { raw in
            let error = #expect(throws: TensorIOError.self) {
                try KVTensorView(bytes: raw, dtype: .f16, layout: .tokensMajor, layers: 1, kvHeads: 1, tokens: 2, headDim: 3, name: "frame 2")
            }
            #expect(error?.kind == .input)
            #expect(error?.message.contains("frame 2") == true && error?.message.contains("12") == true)
        }
    }

    @Test func kvFileMissingValuesIsNamed() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        var writer = SafetensorsWriter()
        writer.add("keys", Tensor(zeros: [2, 2, 8, 8]))
        let url = scratch.url.appendingPathComponent("input.safetensors")
        try writer.write(to: url)
        let error = #expect(throws: TensorIOError.self) { try KVFile(url: url) }
        #expect(error?.kind == .input && error?.message.contains("'values'") == true && error?.message.contains("input.safetensors") == true)
    }

    @Test func keysAndValuesOfDifferentShapesAreRefused() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        var writer = SafetensorsWriter()
        writer.add("keys", Tensor(zeros: [2, 2, 8, 8]))
        writer.add("values", Tensor(zeros: [2, 2, 4, 8]))
        let url = scratch.url.appendingPathComponent("uneven.safetensors")
        try writer.write(to: url)
        let error = #expect(throws: TensorIOError.self) { try KVFile(url: url) }
        #expect(error?.kind == .input && error?.message.contains("differs from values shape") == true)
    }

    @Test func integerKeysAreRefusedNamingTheDType() throws {
        let scratch = try TemporaryDirectory()
        defer { scratch.remove() }
        var writer = SafetensorsWriter()
        writer.add("keys", int64: [1, 2, 3, 4], shape: [1, 1, 2, 2])
        writer.add("values", Tensor(zeros: [1, 1, 2, 2]))
        let url = scratch.url.appendingPathComponent("ints.safetensors")
        try writer.write(to: url)
        let error = #expect(throws: TensorIOError.self) { try KVFile(url: url) }
        #expect(error?.message.contains("tensor 'keys' has dtype I64") == true, "\(String(describing: error))")
    }
}
