import LoMAModel
import LoMAProtocol

/// A compress request checked and turned into an engine job, waiting for its pass.
///
/// Checking happens before the pass so that one bad request in a batch is refused on its own
/// and never costs the others their pass.
struct PreparedCompression {
    let modelName: String
    let model: LlamaModel
    let job: CompressionJob
    let outputDType: DType
    let outputLayout: KVLayout
    let segments: Int

    /// Checks `request` against the model it names and the tensors it carries.
    init(_ request: Loma_V1_CompressRequest, in message: DecodedMessage<Loma_V1_Request>, models: ModelRegistry) throws {
        (modelName, model) = try models.model(named: request.model)

        guard request.hasSegment, request.segment.hasKeys, request.segment.hasValues else {
            throw StatusError.invalidArgument("compress needs segment.keys and segment.values")
        }
        let keys = try Self.view(request.segment.keys, role: "compress.segment.keys", in: message)
        let values = try Self.view(request.segment.values, role: "compress.segment.values", in: message)
        var contextKeys: KVTensorView?, contextValues: KVTensorView?
        if request.hasContext {
            guard request.context.hasKeys, request.context.hasValues else {
                throw StatusError.invalidArgument("compress.context needs both keys and values")
            }
            contextKeys = try Self.view(request.context.keys, role: "compress.context.keys", in: message)
            contextValues = try Self.view(request.context.values, role: "compress.context.values", in: message)
        }
        guard let method = request.method.method else {
            throw StatusError.invalidArgument("compress.method \(request.method.rawValue) is not loma, mean_pool or strided")
        }
        guard request.position <= UInt64(Int.max / 2) else {
            throw StatusError.invalidArgument("compress.position \(request.position) is out of range")
        }
        if request.checkFinite {
            for (role, view) in [("segment.keys", keys), ("segment.values", values), ("context.keys", contextKeys),
                                 ("context.values", contextValues)] {
                if let view, let index = view.firstNonFinite() {
                    throw StatusError.invalidArgument("compress.\(role) holds NaN or infinity (element \(index))")
                }
            }
        }
        switch request.outputDtype {
        case .unspecified: outputDType = keys.dtype
        case let dtype:
            guard let kv = dtype.kvDType else {
                throw StatusError.invalidArgument("compress.output_dtype \(dtype.name) is not f32, f16 or bf16")
            }
            outputDType = kv
        }
        guard let layout = request.outputLayout == .unspecified ? keys.layout : request.outputLayout.kvLayout else {
            throw StatusError.invalidArgument("compress.output_layout \(request.outputLayout.name) is unknown")
        }
        outputLayout = layout
        job = CompressionJob(keys: keys, values: values, contextKeys: contextKeys, contextValues: contextValues,
                             position: Int(request.position), method: method)
        do {
            segments = try model.validate(job, label: "compress").segments
        } catch let error as LoMAModelError {
            throw error.statusError
        }
    }

    private static func view(_ descriptor: Loma_V1_TensorDescriptor, role: String,
                             in message: DecodedMessage<Loma_V1_Request>) throws -> KVTensorView {
        guard let tensor = message.tensor(descriptor) else {
            throw StatusError.invalidArgument("\(role) names frame \(descriptor.frame), which carries no tensor")
        }
        return try tensor.kvView(role: role)
    }

    /// The reply for this request once its pass produced `result`.
    func reply(with result: CompressionResult, into message: inout OutgoingMessage) throws -> Loma_V1_Reply.OneOf_Result {
        var reply = Loma_V1_CompressReply()
        reply.memory.keys = try TensorEncoding.attach(result.keys, dtype: outputDType, layout: outputLayout, to: &message)
        reply.memory.values = try TensorEncoding.attach(result.values, dtype: outputDType, layout: outputLayout, to: &message)
        reply.positions = result.positions
        reply.segments = UInt32(clamping: segments)
        return .compress(reply)
    }
}
