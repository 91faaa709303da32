import LoMATensorIO

extension LlamaModel {
    /// Checks a job against the model before any work, so a bad request fails whole and its
    /// message names the tensor and the field it disagrees with.
    public func validate(_ job: CompressionJob, label: String) throws -> (segments: Int, contextTokens: Int) {
        let c = configuration
        func check(_ view: KVTensorView, _ name: String) throws {
            let checks: [(Int, Int, String, String)] = [
                (view.layers, c.numHiddenLayers, "layers", "num_hidden_layers"),
                (view.kvHeads, c.numKeyValueHeads, "kv_heads", "num_key_value_heads"),
                (view.headDim, c.headDim, "head_dim", "head_dim"),
            ]
            for (actual, expected, axis, field) in checks where actual != expected {
                throw LoMAModelError.input(
                    "\(label)\(name): \(axis) is \(actual) but the model has \(field) = \(expected)")
            }
        }
        try check(job.keys, "keys")
        try check(job.values, "values")
        guard job.keys.tokens == job.values.tokens else {
            throw LoMAModelError.input("\(label)keys hold \(job.keys.tokens) tokens but values hold \(job.values.tokens)")
        }
        let segmentLength = c.loma.segmentLength
        guard job.keys.tokens > 0, job.keys.tokens % segmentLength == 0 else {
            throw LoMAModelError.input(
                "\(label)keys/values hold \(job.keys.tokens) tokens, not a whole positive number of segments (loma.segment_length = \(segmentLength))")
        }
        guard job.position >= 0 else {
            throw LoMAModelError.input("\(label)position \(job.position) is negative")
        }
        var contextTokens = 0
        switch (job.contextKeys, job.contextValues) {
        case (nil, nil):
            break
        case let (keys?, values?):
            try check(keys, "context keys")
            try check(values, "context values")
            guard keys.tokens == values.tokens else {
                throw LoMAModelError.input("\(label)context keys hold \(keys.tokens) tokens but context values hold \(values.tokens)")
            }
            contextTokens = keys.tokens
        default:
            throw LoMAModelError.input("\(label)context needs both keys and values")
        }
        return (job.keys.tokens / segmentLength, contextTokens)
    }

    /// Absolute position of memory token `index` (0-based within the block) of a block starting
    /// at `position`: the position of the last raw token it stands for. Indices run on across
    /// segments (segment s, token k is index s * t + k), since ratio x t = segment length.
    public func memoryPosition(blockPosition position: Int, index: Int) -> Int {
        position + (index + 1) * configuration.loma.compressionRatio - 1
    }
}
