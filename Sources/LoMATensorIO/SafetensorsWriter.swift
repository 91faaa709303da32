import Foundation

/// Builds a safetensors file in memory and writes it atomically. Used for output KV files and by
/// tests that corrupt or synthesise inputs; outputs are small (memory tokens only), so building
/// the whole file in memory keeps the format logic in one place.
public struct SafetensorsWriter {
    private struct Entry {
        let name: String
        let dtypeName: String
        let shape: [Int]
        let data: Data
    }

    private var entries: [Entry] = []
    public var metadata: [String: String] = [:]

    public init() {}

    /// Adds an f32 tensor, stored as `dtype` (rounded to nearest even for 16-bit types).
    public mutating func add(_ name: String, _ tensor: Tensor, as dtype: DType = .f32) {
        add(name, shape: tensor.shape, values: tensor.storage.pointer, count: tensor.count, as: dtype)
    }

    /// Adds `count` floats from `values` with `shape`, stored as `dtype`.
    public mutating func add(_ name: String, shape: [Int], values: UnsafePointer<Float>, count: Int, as dtype: DType) {
        var data = Data(count: count * dtype.byteSize)
        data.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress {
                DTypeConversion.fromFloat32(values, count: count, to: dtype, into: base)
            }
        }
        entries.append(Entry(name: name, dtypeName: dtype.safetensorsName, shape: shape, data: data))
    }

    /// Adds an I64 tensor (little-endian).
    public mutating func add(_ name: String, int64 values: [Int64], shape: [Int]? = nil) {
        var data = Data(capacity: values.count * 8)
        for value in values {
            withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) }
        }
        entries.append(Entry(name: name, dtypeName: "I64", shape: shape ?? [values.count], data: data))
    }

    /// Adds raw bytes under an arbitrary dtype name (lets tests build malformed files).
    public mutating func add(_ name: String, dtypeName: String, shape: [Int], rawBytes: Data) {
        entries.append(Entry(name: name, dtypeName: dtypeName, shape: shape, data: rawBytes))
    }

    /// The serialised file: 8-byte header length, JSON header padded with spaces to 8 bytes,
    /// then the tensors back to back in insertion order.
    public func serialized() throws -> Data {
        var header: [String: Any] = [:]
        var offset = 0
        for entry in entries {
            header[entry.name] = [
                "dtype": entry.dtypeName,
                "shape": entry.shape,
                "data_offsets": [offset, offset + entry.data.count],
            ] as [String: Any]
            offset += entry.data.count
        }
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        json.append(contentsOf: [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8))
        var file = Data(capacity: 8 + json.count + offset)
        withUnsafeBytes(of: UInt64(json.count).littleEndian) { file.append(contentsOf: $0) }
        file.append(json)
        for entry in entries { file.append(entry.data) }
        return file
    }

    /// Writes the file atomically (a reader never sees half a file).
    public func write(to url: URL) throws {
        let data = try serialized()
        do {
            try data.write(to: url, options: .atomic)
        } catch {
            throw TensorIOError.io("cannot write \(url.path): \(error.localizedDescription)")
        }
    }
}
