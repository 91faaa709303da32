import Foundation
import LoMAModel
import LoMATestSupport
import Testing

/// KV that disagrees with the model is the client's error (`kind == .input`), named precisely.
@Suite struct BadInputTests {
    let model: LlamaModel

    init() throws {
        model = try LlamaModel.load(directory: fixtures.model("llama_gqa"))
    }

    /// Zeroed f32 heads-major KV with the model's sizes, overridden where a test says.
    func job(layers: Int? = nil, kvHeads: Int? = nil, headDim: Int? = nil, tokens: Int? = nil,
             contextHeadDim: Int? = nil, _ body: (CompressionJob) throws -> Void) throws {
        let c = model.configuration
        func view(_ buffer: UnsafeRawBufferPointer, tokens: Int, headDim: Int, name: String) throws -> KVTensorView {
            try KVTensorView(bytes: buffer, dtype: .f32, layout: .headsMajor, layers: layers ?? c.numHiddenLayers,
                             kvHeads: kvHeads ?? c.numKeyValueHeads, tokens: tokens, headDim: headDim, name: name)
        }
        let tokenCount = tokens ?? c.loma.segmentLength
        let dims = (layers ?? c.numHiddenLayers) * (kvHeads ?? c.numKeyValueHeads)
        let block = [Float](repeating: 0.5, count: dims * tokenCount * (headDim ?? c.headDim))
        let context = [Float](repeating: 0.25, count: dims * 3 * (contextHeadDim ?? headDim ?? c.headDim))
        try block.withUnsafeBytes { blockBytes in
            try context.withUnsafeBytes { contextBytes in
                let keys = try view(blockBytes, tokens: tokenCount, headDim: headDim ?? c.headDim, name: "keys")
                let contextKeys = try view(contextBytes, tokens: 3, headDim: contextHeadDim ?? headDim ?? c.headDim, name: "context keys")
                try body(CompressionJob(keys: keys, values: keys, contextKeys: contextKeys, contextValues: contextKeys))
            }
        }
    }

    func expectInputError(_ fragments: [String], _ job: CompressionJob) {
        let error = #expect(throws: LoMAModelError.self) { try model.compress([job]) }
        #expect(error?.kind == .input)
        for fragment in fragments {
            #expect(error?.message.contains(fragment) == true, "'\(fragment)' not in \(String(describing: error))")
        }
    }

    @Test func wellFormedJobSucceeds() throws {
        try job { job in
            let result = try #require(try model.compress([job]).first)
            #expect(result.keys.shape == [model.configuration.numHiddenLayers, model.configuration.numKeyValueHeads,
                                          model.configuration.loma.memoryTokensPerSegment, model.configuration.headDim])
            #expect(result.keys.scalars.allSatisfy { $0.isFinite })
        }
    }

    @Test func wrongLayerCount() throws {
        try job(layers: model.configuration.numHiddenLayers + 1) { expectInputError(["keys", "layers", "num_hidden_layers"], $0) }
    }

    @Test func wrongHeadCount() throws {
        try job(kvHeads: model.configuration.numKeyValueHeads * 2) { expectInputError(["keys", "num_key_value_heads"], $0) }
    }

    @Test func wrongHeadDim() throws {
        try job(headDim: model.configuration.headDim / 2) { expectInputError(["keys", "head_dim"], $0) }
    }

    @Test func contextWithWrongHeadDim() throws {
        try job(contextHeadDim: model.configuration.headDim + 2) { expectInputError(["context keys", "head_dim"], $0) }
    }

    @Test(arguments: [1, 7, 12])
    func tokenCountNotWholeSegments(_ tokens: Int) throws {
        try job(tokens: tokens) { expectInputError(["\(tokens) tokens", "segment_length"], $0) }
    }

    @Test func emptyBlock() throws {
        try job(tokens: 0) { expectInputError(["0 tokens"], $0) }
    }

    @Test func badJobInBatchIsNamedAndFailsWholeBatch() throws {
        try job { good in
            try job(tokens: 5) { bad in
                let error = #expect(throws: LoMAModelError.self) { try model.compress([good, bad]) }
                #expect(error?.message.hasPrefix("job 1:") == true, "\(String(describing: error))")
            }
        }
    }

    @Test func viewSizeMustMatchBytes() {
        let bytes = [UInt8](repeating: 0, count: 10)
        bytes.withUnsafeBytes { raw in
            let error = #expect(throws: LoMAModelError.self) {
                try KVTensorView(bytes: raw, dtype: .f16, layout: .tokensMajor, layers: 1, kvHeads: 1, tokens: 2, headDim: 3, name: "frame 2")
            }
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
        let error = #expect(throws: LoMAModelError.self) { try KVFile(url: url) }
        #expect(error?.kind == .input && error?.message.contains("'values'") == true && error?.message.contains("input.safetensors") == true)
    }

    /// A job is checked once, where it is built (`validate`); placing it later (a daemon joins a
    /// sequence's stored memory to its context) checks only the new context and position, and
    /// the pass runs it without checking it again.
    @Test func validatedJobTakesANewContextCheckedOnce() throws {
        try job { plain in
            var block = plain
            block.contextKeys = nil
            block.contextValues = nil
            let validated = try model.validate(block, label: "compress: ")
            #expect(validated.segments == 1 && validated.contextTokens == 0)
            let context = (keys: try #require(plain.contextKeys), values: try #require(plain.contextValues))
            let placed = try model.validate(validated, context: context, position: 16, label: "compress: ")
            #expect(placed.contextTokens == 3 && placed.job.position == 16 && placed.segments == 1)
            #expect(try model.compress([placed]).first?.positions.first == Int64(model.memoryPosition(blockPosition: 16, index: 0)))
            let negative = #expect(throws: LoMAModelError.self) {
                try model.validate(validated, context: nil, position: -1, label: "compress: ")
            }
            #expect(negative?.message == "compress: position -1 is negative")
        }
        try job(contextHeadDim: 3) { wrong in
            var block = wrong
            block.contextKeys = nil
            block.contextValues = nil
            let validated = try model.validate(block, label: "compress: ")
            let context = (keys: try #require(wrong.contextKeys), values: try #require(wrong.contextValues))
            let error = #expect(throws: LoMAModelError.self) {
                try model.validate(validated, context: context, position: 0, label: "compress: ")
            }
            #expect(error?.kind == .input && error?.message.contains("compress: context keys: head_dim is 3") == true,
                    "\(String(describing: error))")
        }
    }
}
