import Foundation

/// One tensor's entry in a safetensors header.
public struct SafetensorsTensorInfo: Sendable, Equatable {
    public let name: String
    /// The header's dtype string (`F32`, `BF16`, `I64`, ...).
    public let dtypeName: String
    public let shape: [Int]
    /// Byte range inside the file (already shifted past the header).
    public let byteRange: Range<Int>

    /// The floating-point dtype, or `nil` for integer/bool tensors.
    public var dtype: DType? { DType(safetensorsName: dtypeName) }
    public var elementCount: Int { shape.reduce(1, *) }
}

/// A memory-mapped safetensors file whose header has been fully validated, so later reads can
/// trust every offset: the header is well-formed JSON, every dtype is known, every range lies in
/// the file, sizes equal shape times dtype size, and no two tensors overlap.
public final class SafetensorsFile: @unchecked Sendable {
    public let url: URL
    public let tensors: [String: SafetensorsTensorInfo]
    public let metadata: [String: String]
    let mapping: MappedFile
    let errorKind: TensorIOError.Kind

    /// Element sizes of every dtype the format defines; anything else is refused.
    static let elementSizes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1,
        "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
    ]

    /// Opens and validates `url`. `errorKind` says whom to blame for a bad file: a checkpoint
    /// shard is the operator's problem, a KV input file the client's.
    public init(url: URL, errorKind: TensorIOError.Kind = .checkpoint) throws {
        self.url = url
        self.errorKind = errorKind
        mapping = try MappedFile(url: url, errorKind: errorKind)
        (tensors, metadata) = try Self.parseHeader(mapping.bytes, path: url.path, errorKind: errorKind)
    }

    public subscript(name: String) -> SafetensorsTensorInfo? { tensors[name] }

    /// The raw bytes of a tensor (inside the mapping; valid while `self` lives).
    public func bytes(of info: SafetensorsTensorInfo) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: mapping.bytes[info.byteRange])
    }

    /// Gives the pages of a tensor back to the kernel once its bytes are converted (the engine
    /// reads embedding rows through `bytes(of:)` and then calls this).
    package func releasePages(of info: SafetensorsTensorInfo) {
        mapping.release(info.byteRange)
    }

    /// Looks up `name` or throws an error naming the file and the tensor.
    public func info(_ name: String) throws -> SafetensorsTensorInfo {
        guard let info = tensors[name] else {
            throw TensorIOError(errorKind, "\(url.path): missing tensor '\(name)'")
        }
        return info
    }

    /// Converts a floating-point tensor to f32 into `destination` (`elementCount` floats), then
    /// gives its pages back to the kernel.
    public func readFloat32(_ info: SafetensorsTensorInfo, into destination: UnsafeMutablePointer<Float>) throws {
        guard let dtype = info.dtype else {
            throw TensorIOError(errorKind, "\(url.path): tensor '\(info.name)' has dtype \(info.dtypeName), expected F32, F16 or BF16")
        }
        let raw = bytes(of: info)
        if let base = raw.baseAddress {
            DTypeConversion.toFloat32(base, dtype: dtype, count: info.elementCount, into: destination)
        }
        mapping.release(info.byteRange)
    }

    /// Reads a floating-point tensor as an owned f32 tensor.
    public func readTensor(_ name: String) throws -> Tensor {
        let info = try info(name)
        let tensor = Tensor(zeros: info.shape)
        try readFloat32(info, into: tensor.mutablePointer)
        return tensor
    }

    /// Reads an I64 tensor (e.g. `positions`).
    public func readInt64(_ name: String) throws -> [Int64] {
        let info = try info(name)
        guard info.dtypeName == "I64" else {
            throw TensorIOError(errorKind, "\(url.path): tensor '\(name)' has dtype \(info.dtypeName), expected I64")
        }
        let raw = bytes(of: info)
        return (0..<info.elementCount).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self).littleEndian }
    }
}
