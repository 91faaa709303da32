extension LlamaModel {
    /// Compresses every job in one batched pass: LoMA jobs share their matrix products (their
    /// memory tokens are stacked as rows), baseline jobs are computed directly. Results come
    /// back in job order. Throws before computing anything if any job is invalid, and throws the
    /// error `cancellation` returns when it stops the pass (between layers), with no result.
    public func compress(_ jobs: [CompressionJob], cancellation: PassCancellation = .never) throws -> [CompressionResult] {
        let validated = try jobs.enumerated().map { index, job in
            try validate(job, label: jobs.count > 1 ? "job \(index): " : "")
        }
        return try compress(validated, cancellation: cancellation)
    }

    /// `compress` for jobs already checked against this model (`validate`): they are not
    /// checked again.
    public func compress(_ validated: [ValidatedJob], cancellation: PassCancellation = .never) throws -> [CompressionResult] {
        precondition(validated.allSatisfy { $0.model == ObjectIdentifier(self) }, "a job validated against another model")
        let jobs = validated.map(\.job)
        let shapes = validated.map { (segments: $0.segments, contextTokens: $0.contextTokens) }
        let c = configuration
        let memoryPerSegment = c.loma.memoryTokensPerSegment
        let outputs = shapes.map { shape in
            MemoryOutput(
                layers: c.numHiddenLayers, kvHeads: c.numKeyValueHeads,
                tokens: shape.segments * memoryPerSegment, headDim: c.headDim)
        }
        var lomaJobs: [MemoryPassJob] = []
        for (index, job) in jobs.enumerated() {
            switch job.method {
            case .loma:
                lomaJobs.append(MemoryPassJob(
                    job: job, output: outputs[index], segments: shapes[index].segments,
                    contextTokens: shapes[index].contextTokens))
            case .meanPool:
                Baselines.meanPool(job, ratio: c.loma.compressionRatio, into: outputs[index])
            case .strided:
                Baselines.strided(job, ratio: c.loma.compressionRatio, into: outputs[index])
            }
        }
        if !lomaJobs.isEmpty { try runMemoryPass(lomaJobs, cancellation: cancellation) }
        return zip(jobs, outputs).map { job, output in
            let positions = (0..<output.tokens).map {
                Int64(memoryPosition(blockPosition: job.position, index: $0))
            }
            return CompressionResult(keys: output.keys, values: output.values, positions: positions)
        }
    }
}

/// The output tensors of one job while they are being filled, `[layers, kv_heads, tokens,
/// head_dim]` each. A later segment reads the earlier segments' memory back from here.
struct MemoryOutput {
    let keys: Tensor
    let values: Tensor
    let layers: Int
    let kvHeads: Int
    let tokens: Int
    let headDim: Int

    init(layers: Int, kvHeads: Int, tokens: Int, headDim: Int) {
        keys = Tensor(zeros: [layers, kvHeads, tokens, headDim])
        values = Tensor(zeros: [layers, kvHeads, tokens, headDim])
        self.layers = layers
        self.kvHeads = kvHeads
        self.tokens = tokens
        self.headDim = headDim
    }

    /// Start of row (layer, head, token) in either tensor.
    @inline(__always)
    func offset(layer: Int, head: Int, token: Int) -> Int {
        ((layer * kvHeads + head) * tokens + token) * headDim
    }
}
