import Foundation
import LoMATensorIO

/// A LoMA job inside the batched pass, with its validated sizes and its output.
struct MemoryPassJob {
    let job: CompressionJob
    let output: MemoryOutput
    let segments: Int
    let contextTokens: Int
}

/// Scratch for one pass over `rows` stacked memory tokens. Allocated per call so concurrent
/// calls on one model share nothing mutable.
private struct MemoryPassScratch {
    let hidden: AlignedStorage
    let normalized: AlignedStorage
    let queryKeyValue: AlignedStorage
    let attention: AlignedStorage
    let gateUp: AlignedStorage
    let activation: AlignedStorage
    /// The current product's input, repacked for the kernel (sized for the widest input).
    let packedInput: AlignedStorage

    init(rows: Int, configuration c: ModelConfiguration) {
        let queryWidth = c.numAttentionHeads * c.headDim
        hidden = AlignedStorage(count: rows * c.hiddenSize)
        normalized = AlignedStorage(count: rows * c.hiddenSize)
        queryKeyValue = AlignedStorage(count: rows * (queryWidth + 2 * c.numKeyValueHeads * c.headDim))
        attention = AlignedStorage(count: rows * queryWidth)
        gateUp = AlignedStorage(count: rows * 2 * c.intermediateSize)
        activation = AlignedStorage(count: rows * c.intermediateSize)
        packedInput = AlignedStorage(count: Linear.packedInputCount(
            rows: rows, inFeatures: max(c.hiddenSize, queryWidth, c.intermediateSize)))
    }
}

extension LlamaModel {
    /// The memory pass of docs/loma-spec.md 3.2/3.3 over several jobs at once. Segment step `s` stacks
    /// the memory tokens of every job that has an `s`-th segment into one matrix, so weights
    /// are streamed once per step for all of them; attention is per job. `cancellation` is asked
    /// before every layer of every step, so a stopped pass ends within one layer's work.
    func runMemoryPass(_ jobs: [MemoryPassJob], cancellation: PassCancellation = .never) throws {
        let c = configuration
        let perSegment = c.loma.memoryTokensPerSegment
        let maximumSegments = jobs.map(\.segments).max() ?? 0
        let scratch = MemoryPassScratch(rows: jobs.count * perSegment, configuration: c)

        for step in 0..<maximumSegments {
            let active = jobs.filter { $0.segments > step }
            let rows = active.count * perSegment
            var positions: [Int] = []
            for pass in active {
                let segmentStart = pass.job.position + step * c.loma.segmentLength
                positions += (0..<perSegment).map { memoryPosition(blockPosition: segmentStart, index: $0) }
                // Every memory token enters the first layer as its embedding.
                (scratch.hidden.pointer + positions.count * c.hiddenSize - perSegment * c.hiddenSize)
                    .update(from: memoryEmbeddings.storage.pointer, count: perSegment * c.hiddenSize)
            }
            let (cosines, sines) = rotary.tables(for: positions)
            for (layerIndex, layer) in layers.enumerated() {
                try cancellation.checkpoint()
                runLayer(layer, index: layerIndex, step: step, jobs: active, rows: rows,
                         cos: cosines, sin: sines, scratch: scratch)
            }
        }
    }

    private func runLayer(
        _ layer: DecoderLayer, index layerIndex: Int, step: Int, jobs: [MemoryPassJob], rows: Int,
        cos cosines: [Float], sin sines: [Float], scratch: MemoryPassScratch
    ) {
        let c = configuration
        let headDim = c.headDim
        let keyValueWidth = c.numKeyValueHeads * headDim
        let queryWidth = layer.producesKeyValuesOnly ? 0 : c.numAttentionHeads * headDim
        let projectionWidth = queryWidth + 2 * keyValueWidth
        let perSegment = c.loma.memoryTokensPerSegment

        // q/k/v of the memory tokens, rotated at their positions.
        layer.inputNorm.apply(scratch.hidden.pointer, rows: rows, into: scratch.normalized.pointer)
        layer.attention.queryKeyValue.apply(scratch.normalized.pointer, rows: rows, into: scratch.queryKeyValue.pointer,
                                            packedInput: scratch.packedInput.pointer)
        let projected = scratch.queryKeyValue.pointer
        let rotatedHeads = (queryWidth + keyValueWidth) / headDim
        let rotary = rotary
        let rotated = RowPointers(input: projected, output: projected)
        Parallel.forEach(rows, minimumChunk: Parallel.minimumChunk(workPerItem: 4 * rotatedHeads * headDim)) { range in
            rotary.rotate(rotated.output, rows: range, stride: projectionWidth, heads: rotatedHeads, cos: cosines, sin: sines)
        }

        // Their keys and values are this layer's output; later segments read them back.
        for (jobIndex, pass) in jobs.enumerated() {
            for token in 0..<perSegment {
                let source = projected + (jobIndex * perSegment + token) * projectionWidth + queryWidth
                for head in 0..<c.numKeyValueHeads {
                    let offset = pass.output.offset(layer: layerIndex, head: head, token: step * perSegment + token)
                    (pass.output.keys.mutablePointer + offset).update(from: source + head * headDim, count: headDim)
                    (pass.output.values.mutablePointer + offset).update(from: source + keyValueWidth + head * headDim, count: headDim)
                }
            }
        }
        guard let output = layer.attention.output, let mlp = layer.mlp, let postNorm = layer.postAttentionNorm else {
            return
        }

        attend(jobs, layer: layerIndex, step: step, queries: projected, queryStride: projectionWidth,
               into: scratch.attention.pointer)
        output.apply(scratch.attention.pointer, rows: rows, into: scratch.hidden.pointer, accumulate: true,
                     packedInput: scratch.packedInput.pointer)

        postNorm.apply(scratch.hidden.pointer, rows: rows, into: scratch.normalized.pointer)
        mlp.gateUp.apply(scratch.normalized.pointer, rows: rows, into: scratch.gateUp.pointer, packedInput: scratch.packedInput.pointer)
        SwiGLU.apply(scratch.gateUp.pointer, rows: rows, width: c.intermediateSize, into: scratch.activation.pointer)
        mlp.down.apply(scratch.activation.pointer, rows: rows, into: scratch.hidden.pointer, accumulate: true,
                       packedInput: scratch.packedInput.pointer)
    }

    /// Attention of every job's memory queries over `[context, memory so far, segment]` with no
    /// mask; the order of keys does not matter without a mask, so the memory (earlier segments'
    /// and this one's) is read back contiguously from the output. Threaded twice: each job's
    /// keys and values are gathered (and converted from the client's dtype) by one thread,
    /// then every (job, kv head) pair is an independent item.
    private func attend(
        _ jobs: [MemoryPassJob], layer: Int, step: Int,
        queries: UnsafeMutablePointer<Float>, queryStride: Int, into attention: UnsafeMutablePointer<Float>
    ) {
        let c = configuration
        let headDim = c.headDim
        let perSegment = c.loma.memoryTokensPerSegment
        let segmentLength = c.loma.segmentLength
        let memoryTokens = (step + 1) * perSegment
        let kvHeads = c.numKeyValueHeads
        let gathered = jobs.map { pass in
            let total = pass.contextTokens + memoryTokens + segmentLength
            return GatheredKeyValues(total: total, keys: AlignedStorage(count: kvHeads * total * headDim),
                                     values: AlignedStorage(count: kvHeads * total * headDim))
        }
        let shared = AttentionJobs(jobs: jobs, queries: queries, attention: attention)
        let gatherWork = gathered.first.map { 2 * kvHeads * $0.total * headDim } ?? 1
        Parallel.forEach(jobs.count, minimumChunk: Parallel.minimumChunk(workPerItem: gatherWork)) { range in
            for jobIndex in range {
                let pass = shared.jobs[jobIndex], target = gathered[jobIndex]
                let contextTokens = pass.contextTokens, total = target.total
                for (storage, context, block, memory) in [
                    (target.keys, pass.job.contextKeys, pass.job.keys, pass.output.keys),
                    (target.values, pass.job.contextValues, pass.job.values, pass.output.values),
                ] {
                    context?.gather(layer: layer, tokens: 0..<contextTokens, into: storage.pointer, rowsPerHead: total, firstRow: 0)
                    for head in 0..<kvHeads {
                        (storage.pointer + (head * total + contextTokens) * headDim).update(
                            from: memory.storage.pointer + pass.output.offset(layer: layer, head: head, token: 0),
                            count: memoryTokens * headDim)
                    }
                    block.gather(layer: layer, tokens: (step * segmentLength)..<((step + 1) * segmentLength),
                                 into: storage.pointer, rowsPerHead: total, firstRow: contextTokens + memoryTokens)
                }
            }
        }

        // The query heads sharing a kv head are stacked into one `[group * t, head_dim]` matrix
        // (row = token * group + head in group: one contiguous copy per token), so each kv head
        // costs one product for the scores and one for the values instead of one per query head.
        let queryWidth = c.numAttentionHeads * headDim
        let group = c.queriesPerKeyValueHead
        let groupWidth = group * headDim
        let groupRows = group * perSegment
        let scale = 1 / Float(headDim).squareRoot()
        let headWork = gathered.first.map { 2 * groupRows * $0.total * headDim } ?? 1
        Parallel.forEach(jobs.count * kvHeads, minimumChunk: Parallel.minimumChunk(workPerItem: headWork)) { range in
            let groupedQueries = AlignedStorage(count: groupRows * headDim)
            let groupedOutput = AlignedStorage(count: groupRows * headDim)
            let scores = AlignedStorage(count: groupRows * (gathered.map(\.total).max() ?? 0))
            for item in range {
                let jobIndex = item / kvHeads, keyValueHead = item % kvHeads
                let source = gathered[jobIndex], total = source.total
                let queries = shared.queries + jobIndex * perSegment * queryStride
                let attention = shared.attention + jobIndex * perSegment * queryWidth
                for token in 0..<perSegment {
                    (groupedQueries.pointer + token * groupWidth).update(
                        from: queries + token * queryStride + keyValueHead * groupWidth, count: groupWidth)
                }
                BLAS.multiplyTransposed(
                    groupedQueries.pointer, rows: groupRows, inner: headDim, lda: headDim,
                    source.keys.pointer + keyValueHead * total * headDim, outer: total, ldw: headDim,
                    into: scores.pointer, ldc: total, alpha: scale)
                Softmax.applyRows(scores.pointer, rows: groupRows, width: total)
                BLAS.multiply(
                    scores.pointer, rows: groupRows, inner: total, lda: total,
                    source.values.pointer + keyValueHead * total * headDim, cols: headDim, ldb: headDim,
                    into: groupedOutput.pointer, ldc: headDim)
                for token in 0..<perSegment {
                    (attention + token * queryWidth + keyValueHead * groupWidth).update(
                        from: groupedOutput.pointer + token * groupWidth, count: groupWidth)
                }
            }
        }
    }
}

/// One job's keys and values for one layer, `[kv_heads, total, head_dim]` each.
private struct GatheredKeyValues: Sendable {
    let total: Int
    let keys: AlignedStorage
    let values: AlignedStorage
}

/// The jobs and the query/attention rows of one layer's attention, handed to worker threads
/// that each read whole jobs and write disjoint (job, kv head) blocks of `attention`.
private struct AttentionJobs: @unchecked Sendable {
    let jobs: [MemoryPassJob]
    let queries: UnsafeMutablePointer<Float>
    let attention: UnsafeMutablePointer<Float>
}
