import LoMAOperations
import LoMAProtocol
import LoMARuntime
import LoMAStore
import Testing
import ZeroMQ

/// `output_dtype` and `output_layout` are checked in one place for every operation that returns
/// memory, before any store read: a bad value is refused with the field named the same way
/// whether or not there is anything to return.
@Suite("Operations: the output dtype and layout a client asks for")
struct OutputFormatTests {
    let handler: OperationHandler

    init() throws {
        handler = OperationHandler(models: try ModelRegistry([]),
                                   store: try CompressedMemoryStore(configuration: StoreConfiguration(mode: .memory)))
    }

    private func outcome(_ operation: Loma_V1_Request.OneOf_Operation) throws -> HandlerOutcome {
        var envelope = Loma_V1_Request()
        envelope.operation = operation
        let message = try DecodedMessage<Loma_V1_Request>(frames: [ZMQFrame(bytes: try envelope.serializedBytes() as [UInt8])],
                                                          limits: ProtocolLimits())
        return handler.outcome(of: ClientRequest(message: message, tenant: CompressedMemoryStore.defaultTenant))
    }

    private func refusal(_ operation: Loma_V1_Request.OneOf_Operation) throws -> StatusError? {
        guard case .failure(let error) = try outcome(operation) else { return nil }
        return error
    }

    @Test("read_memory refuses i64 and an unknown layout before looking for the sequence")
    func readMemory() throws {
        let dtype = try refusal(.readMemory(.with { $0.sequence = "absent"; $0.outputDtype = .i64 }))
        #expect(dtype?.code == .invalidArgument && dtype?.message == "read_memory.output_dtype i64 is not f32, f16 or bf16")
        let layout = try refusal(.readMemory(.with { $0.sequence = "absent"; $0.outputLayout = .UNRECOGNIZED(77) }))
        #expect(layout?.code == .invalidArgument && layout?.message.hasPrefix("read_memory.output_layout") == true)
        // With a valid format the same request reaches the store, which knows no such sequence.
        #expect(try refusal(.readMemory(.with { $0.sequence = "absent"; $0.outputDtype = .bf16 }))?.code == .notFound)
    }

    @Test("lookup_prefix refuses a bad output dtype before looking for the model")
    func lookupPrefix() throws {
        let error = try refusal(.lookupPrefix(.with { $0.model = "none"; $0.outputDtype = .i64 }))
        #expect(error?.code == .invalidArgument && error?.message == "lookup_prefix.output_dtype i64 is not f32, f16 or bf16")
        #expect(try refusal(.lookupPrefix(.with { $0.model = "none" }))?.code == .notFound)
    }
}
