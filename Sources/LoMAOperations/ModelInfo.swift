import LoMAProtocol

/// What health and stats replies say about a loaded model.
enum ModelInfo {
    static func describe(_ entry: ModelRegistry.Entry) -> Loma_V1_ModelInfo {
        let configuration = entry.model.configuration
        var info = Loma_V1_ModelInfo()
        info.name = entry.name
        info.loadSeconds = entry.loadTime.seconds
        info.architecture = configuration.architecture.rawValue
        info.layers = UInt32(clamping: configuration.numHiddenLayers)
        info.kvHeads = UInt32(clamping: configuration.numKeyValueHeads)
        info.headDim = UInt32(clamping: configuration.headDim)
        info.hiddenSize = UInt32(clamping: configuration.hiddenSize)
        info.attentionHeads = UInt32(clamping: configuration.numAttentionHeads)
        info.segmentLength = UInt32(clamping: configuration.loma.segmentLength)
        info.compressionRatio = UInt32(clamping: configuration.loma.compressionRatio)
        info.memoryTokensPerSegment = UInt32(clamping: configuration.loma.memoryTokensPerSegment)
        return info
    }
}
