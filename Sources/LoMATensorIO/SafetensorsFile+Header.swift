import Foundation

extension SafetensorsFile {
    /// Headers beyond this are refused before parsing: a corrupt length field must not make us
    /// parse gigabytes as JSON. (The reference implementation uses the same 100 MB cap.)
    static let maximumHeaderSize = 100_000_000

    static func parseHeader(
        _ bytes: UnsafeRawBufferPointer, path: String, errorKind: TensorIOError.Kind
    ) throws -> ([String: SafetensorsTensorInfo], [String: String]) {
        func fail(_ message: String) -> TensorIOError { TensorIOError(errorKind, "\(path): \(message)") }

        guard bytes.count >= 8 else {
            throw fail("file is \(bytes.count) bytes, too short for a safetensors header (truncated?)")
        }
        let headerLength = UInt64(littleEndian: bytes.loadUnaligned(as: UInt64.self))
        guard headerLength <= UInt64(maximumHeaderSize), Int(headerLength) <= bytes.count - 8 else {
            throw fail("header length \(headerLength) runs past the end of the \(bytes.count)-byte file (truncated?)")
        }
        let headerData = Data(bytes[8..<(8 + Int(headerLength))])
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: headerData)
        } catch {
            throw fail("header is not well-formed JSON")
        }
        guard let object = json as? [String: Any] else { throw fail("header is not a JSON object") }

        let dataStart = 8 + Int(headerLength)
        let dataSize = bytes.count - dataStart
        var tensors: [String: SafetensorsTensorInfo] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                guard let entries = value as? [String: Any] else { throw fail("__metadata__ is not an object") }
                for (key, entry) in entries {
                    guard let text = entry as? String else { throw fail("__metadata__['\(key)'] is not a string") }
                    metadata[key] = text
                }
                continue
            }
            guard let entry = value as? [String: Any] else { throw fail("tensor '\(name)': entry is not an object") }
            guard let dtypeName = entry["dtype"] as? String else { throw fail("tensor '\(name)': missing dtype") }
            guard let elementSize = elementSizes[dtypeName] else {
                throw fail("tensor '\(name)': unknown dtype '\(dtypeName)'")
            }
            guard let shape = integers(entry["shape"]), shape.allSatisfy({ $0 >= 0 }) else {
                throw fail("tensor '\(name)': shape is not a list of non-negative integers")
            }
            guard let offsets = integers(entry["data_offsets"]), offsets.count == 2,
                  offsets[0] >= 0, offsets[0] <= offsets[1]
            else {
                throw fail("tensor '\(name)': data_offsets is not [begin, end] with begin <= end")
            }
            guard offsets[1] <= dataSize else {
                throw fail("tensor '\(name)': data_offsets \(offsets) point past the end of the data (\(dataSize) bytes; truncated?)")
            }
            let (elements, overflow) = shape.reduce((1, false)) { partial, dimension in
                let product = partial.0.multipliedReportingOverflow(by: dimension)
                return (product.partialValue, partial.1 || product.overflow)
            }
            let (byteCount, sizeOverflow) = elements.multipliedReportingOverflow(by: elementSize)
            guard !overflow, !sizeOverflow, byteCount == offsets[1] - offsets[0] else {
                throw fail("tensor '\(name)': shape \(shape) x \(dtypeName) needs \(byteCount) bytes but data_offsets span \(offsets[1] - offsets[0])")
            }
            tensors[name] = SafetensorsTensorInfo(
                name: name, dtypeName: dtypeName, shape: shape,
                byteRange: (dataStart + offsets[0])..<(dataStart + offsets[1]))
        }

        let ordered = tensors.values.filter { !$0.byteRange.isEmpty }.sorted { $0.byteRange.lowerBound < $1.byteRange.lowerBound }
        for (previous, next) in zip(ordered, ordered.dropFirst()) where next.byteRange.lowerBound < previous.byteRange.upperBound {
            throw fail("tensors '\(previous.name)' and '\(next.name)' overlap")
        }
        return (tensors, metadata)
    }

    /// JSON numbers arrive as NSNumber/Int/Double depending on the platform; accept only exact
    /// integers.
    private static func integers(_ value: Any?) -> [Int]? {
        guard let list = value as? [Any] else { return nil }
        var result: [Int] = []
        for element in list {
            if let number = element as? Int {
                result.append(number)
            } else if let number = element as? Double, number.rounded() == number, abs(number) < 9e15 {
                result.append(Int(number))
            } else {
                return nil
            }
        }
        return result
    }
}
