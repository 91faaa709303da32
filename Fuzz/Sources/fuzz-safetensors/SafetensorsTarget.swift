import Foundation
import FuzzSupport
@testable import LoMATensorIO

/// Fuzzes the safetensors header parser that guards every checkpoint shard and every KV file
/// `lomactl` and `lomad compress` read. The input is a whole file: 8-byte length, JSON header,
/// data. What the parser accepts is then used the way the loaders use it: every floating-point
/// tensor is converted from the input's own (ASan-checked) buffer, so a range the parser let
/// through that lies outside the file is a heap overflow, not a silent wrong read. Inputs that
/// name `keys` and `values` also go through `KVFile`, the KV-file reader behind both commands.
enum SafetensorsTarget {
    static func run(_ input: [UInt8]) {
        let parsed: (tensors: [String: SafetensorsTensorInfo], metadata: [String: String])
        do {
            parsed = try input.withUnsafeBytes { bytes in
                try SafetensorsFile.parseHeader(bytes, path: "fuzz.safetensors", errorKind: .input)
            }
        } catch let error as TensorIOError {
            FuzzEnvironment.trace("header: \(error.message)")
            fuzzRequire(error.message.hasPrefix("fuzz.safetensors: "), "an error does not name the file: \(error.message)")
            return
        } catch {
            fuzzRequire(false, "the parser threw an error other than TensorIOError: \(error)")
            return
        }
        FuzzEnvironment.trace("header: \(parsed.tensors.count) tensors, \(parsed.metadata.count) metadata entries")
        for info in parsed.tensors.values {
            fuzzRequire(info.byteRange.lowerBound >= 8 && info.byteRange.upperBound <= input.count,
                        "tensor '\(info.name)' has range \(info.byteRange) outside the \(input.count)-byte file")
            if let dtype = info.dtype {
                fuzzRequire(info.elementCount * dtype.byteSize == info.byteRange.count,
                            "tensor '\(info.name)' has \(info.elementCount) elements but \(info.byteRange.count) bytes")
                convert(info, dtype: dtype, from: input)
            }
        }
        if parsed.tensors["keys"] != nil, parsed.tensors["values"] != nil {
            let url = FuzzEnvironment.writeScratch("kv.safetensors", input)
            for layout in [KVLayout.headsMajor, .tokensMajor] {
                do {
                    let file = try KVFile(url: url, layout: layout)
                    _ = file.keys.toHeadsMajorTensor()
                    _ = file.values.toHeadsMajorTensor()
                } catch let error as TensorIOError {
                    FuzzEnvironment.trace("KV file (\(layout)): \(error.message)")
                    fuzzRequire(error.message.contains(url.path), "a KV file error does not name the file: \(error.message)")
                } catch {
                    fuzzRequire(false, "KVFile threw an error other than TensorIOError: \(error)")
                }
            }
        }
    }

    /// What `SafetensorsFile.readFloat32` does, on the input buffer instead of a mapping.
    private static func convert(_ info: SafetensorsTensorInfo, dtype: DType, from input: [UInt8]) {
        var output = [Float](repeating: 0, count: info.elementCount)
        input.withUnsafeBytes { bytes in
            let raw = UnsafeRawBufferPointer(rebasing: bytes[info.byteRange])
            output.withUnsafeMutableBufferPointer { destination in
                if let source = raw.baseAddress, let target = destination.baseAddress {
                    DTypeConversion.toFloat32(source, dtype: dtype, count: info.elementCount, into: target)
                }
            }
        }
    }

    /// The real headers of the shipped and fixture checkpoints, cut off after the header with
    /// a little data (enough for the small fixture tensors), plus a small valid KV file.
    static func seeds() throws -> [String: [UInt8]] {
        var seeds: [String: [UInt8]] = [:]
        let roots = ["Models", "Tests/LoMAModelTests/Fixtures/models"]
        for root in roots {
            let directory = FuzzEnvironment.repositoryPath(root)
            for model in try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted() {
                let folder = directory.appendingPathComponent(model)
                guard let files = try? FileManager.default.contentsOfDirectory(atPath: folder.path) else { continue }
                for file in files.sorted() where file.hasSuffix(".safetensors") {
                    let bytes = [UInt8](try Data(contentsOf: folder.appendingPathComponent(file)))
                    seeds["\(model)-\(file)"] = headerPrefix(of: bytes, dataBytes: 256)
                }
            }
        }
        seeds["kv-f16"] = kvFile()
        return seeds
    }

    /// The length field, the header, and at most `dataBytes` of data.
    static func headerPrefix(of bytes: [UInt8], dataBytes: Int) -> [UInt8] {
        guard bytes.count >= 8 else { return bytes }
        let length = bytes[0..<8].reversed().reduce(0) { $0 << 8 | Int($1) }
        return Array(bytes.prefix(min(bytes.count, 8 + length + dataBytes)))
    }

    /// A KV file of shape [1, 2, 4, 2] in F16 plus I64 positions, written by hand.
    static func kvFile() -> [UInt8] {
        let header = #"{"keys":{"dtype":"F16","shape":[1,2,4,2],"data_offsets":[0,32]},"# +
            #""values":{"dtype":"F16","shape":[1,2,4,2],"data_offsets":[32,64]},"# +
            #""positions":{"dtype":"I64","shape":[4],"data_offsets":[64,96]},"__metadata__":{"format":"pt"}}"#
        let length = UInt64(header.utf8.count)
        return (0..<8).map { UInt8(truncatingIfNeeded: length >> (8 * UInt64($0))) } + Array(header.utf8)
            + (0..<96).map { UInt8(truncatingIfNeeded: $0 * 7 % 60) }
    }
}
