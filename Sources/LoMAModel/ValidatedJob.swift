/// A job checked against the model that will run it (`LlamaModel.validate`), with the sizes the
/// check worked out. The pass takes it as it is: a job is checked once, where it is built, and
/// never again on its way into the pass.
public struct ValidatedJob {
    public let job: CompressionJob
    /// Whole segments in the block.
    public let segments: Int
    /// Tokens of context before the block.
    public let contextTokens: Int
    /// The model it was checked against; no other runs it.
    let model: ObjectIdentifier
}
