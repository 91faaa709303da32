extension LlamaModel {
    /// Checks a job against the model before any work, so a bad request fails whole and its
    /// message names the tensor and the field it disagrees with.
    public func validate(_ job: CompressionJob, label: String) throws -> ValidatedJob {
        let c = configuration
        try check(job.keys, "\(label)keys")
        try check(job.values, "\(label)values")
        guard job.keys.tokens == job.values.tokens else {
            throw LoMAModelError.input("\(label)keys hold \(job.keys.tokens) tokens but values hold \(job.values.tokens)")
        }
        let segmentLength = c.loma.segmentLength
        guard job.keys.tokens > 0, job.keys.tokens % segmentLength == 0 else {
            throw LoMAModelError.input(
                "\(label)keys/values hold \(job.keys.tokens) tokens, not a whole positive number of segments (loma.segment_length = \(segmentLength))")
        }
        try checkPosition(job.position, label: label)
        let contextTokens: Int
        switch (job.contextKeys, job.contextValues) {
        case (nil, nil):
            contextTokens = 0
        case let (keys?, values?):
            contextTokens = try checkContext(keys, values, label: label)
        default:
            throw LoMAModelError.input("\(label)context needs both keys and values")
        }
        return ValidatedJob(job: job, segments: job.keys.tokens / segmentLength, contextTokens: contextTokens,
                            model: ObjectIdentifier(self))
    }

    /// `validated` with a new context and start position: for a caller that can place the block
    /// only after checking it (a daemon reads a sequence's stored memory only for a request it
    /// accepts). Only what is new is checked; the block was checked when `validated` was made.
    public func validate(_ validated: ValidatedJob, context: (keys: KVTensorView, values: KVTensorView)?, position: Int,
                         label: String) throws -> ValidatedJob {
        precondition(validated.model == ObjectIdentifier(self), "a job validated against another model")
        try checkPosition(position, label: label)
        var job = validated.job
        job.contextKeys = context?.keys
        job.contextValues = context?.values
        job.position = position
        let contextTokens = try context.map { try checkContext($0.keys, $0.values, label: label) } ?? 0
        return ValidatedJob(job: job, segments: validated.segments, contextTokens: contextTokens, model: validated.model)
    }

    private func check(_ view: KVTensorView, _ name: String) throws {
        let c = configuration
        let checks: [(Int, Int, String, String)] = [
            (view.layers, c.numHiddenLayers, "layers", "num_hidden_layers"),
            (view.kvHeads, c.numKeyValueHeads, "kv_heads", "num_key_value_heads"),
            (view.headDim, c.headDim, "head_dim", "head_dim"),
        ]
        for (actual, expected, axis, field) in checks where actual != expected {
            throw LoMAModelError.input("\(name): \(axis) is \(actual) but the model has \(field) = \(expected)")
        }
    }

    private func checkPosition(_ position: Int, label: String) throws {
        guard position >= 0 else {
            throw LoMAModelError.input("\(label)position \(position) is negative")
        }
    }

    /// The context's token count, once its keys and values fit the model and each other.
    private func checkContext(_ keys: KVTensorView, _ values: KVTensorView, label: String) throws -> Int {
        try check(keys, "\(label)context keys")
        try check(values, "\(label)context values")
        guard keys.tokens == values.tokens else {
            throw LoMAModelError.input("\(label)context keys hold \(keys.tokens) tokens but context values hold \(values.tokens)")
        }
        return keys.tokens
    }

    /// Absolute position of memory token `index` (0-based within the block) of a block starting
    /// at `position`: the position of the last raw token it stands for. Indices run on across
    /// segments (segment s, token k is index s * t + k), since ratio x t = segment length.
    public func memoryPosition(blockPosition position: Int, index: Int) -> Int {
        position + (index + 1) * configuration.loma.compressionRatio - 1
    }
}
