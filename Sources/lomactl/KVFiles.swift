import Foundation
import LoMAClient
import LoMAModel
import LoMAProtocol

/// KV safetensors files (DESIGN.md section 6: `keys`, `values` as `[layers, kv_heads, tokens,
/// head_dim]`, output adds `positions`), read as raw bytes and sent as they are: lomactl never
/// converts tensors, the daemon does.
enum KVFiles {
    static func read(_ path: String) throws -> (keys: TensorPayload, values: TensorPayload) {
        let file = try SafetensorsFile(url: URL(fileURLWithPath: path), errorKind: .input)
        return (try payload(file, "keys"), try payload(file, "values"))
    }

    private static func payload(_ file: SafetensorsFile, _ name: String) throws -> TensorPayload {
        let info = try file.info(name)
        let dtype: Loma_V1_DType = switch info.dtype {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case nil: .unspecified
        }
        guard dtype != .unspecified else {
            throw ValidationFailure("\(file.url.path): tensor '\(name)' has dtype \(info.dtypeName); KV must be F32, F16 or BF16")
        }
        return TensorPayload(bytes: Data(file.bytes(of: info)), dtype: dtype, shape: info.shape, layout: .headsMajor)
    }

    static func write(_ memory: CompressedMemory, to path: String) throws {
        var writer = SafetensorsWriter()
        writer.add("keys", dtypeName: memory.keys.dtype.safetensorsName, shape: memory.keys.shape, rawBytes: memory.keys.bytes)
        writer.add("values", dtypeName: memory.values.dtype.safetensorsName, shape: memory.values.shape, rawBytes: memory.values.bytes)
        writer.add("positions", int64: memory.positions)
        try writer.write(to: URL(fileURLWithPath: path))
    }
}

struct ValidationFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

extension Loma_V1_DType {
    var safetensorsName: String { name.uppercased() }
}
