import Foundation

/// The weights of a checkpoint folder: a single `model.safetensors` or shards listed by
/// `model.safetensors.index.json`. Lookups go through the index so a tensor the index names but
/// its shard lacks is reported against both files.
public final class SafetensorsCheckpoint: @unchecked Sendable {
    public let directory: URL
    private let shards: [String: SafetensorsFile]
    private let location: [String: String]

    public init(directory: URL) throws {
        self.directory = directory
        let fileManager = FileManager.default
        let single = directory.appendingPathComponent("model.safetensors")
        let index = directory.appendingPathComponent("model.safetensors.index.json")
        if fileManager.fileExists(atPath: index.path) {
            let weightMap = try Self.readIndex(index)
            var shards: [String: SafetensorsFile] = [:]
            for shardName in Set(weightMap.values).sorted() {
                guard !shardName.contains("/") else {
                    throw TensorIOError.checkpoint("\(index.path): shard name '\(shardName)' must be a file in the folder")
                }
                shards[shardName] = try SafetensorsFile(url: directory.appendingPathComponent(shardName))
            }
            self.shards = shards
            location = weightMap
        } else if fileManager.fileExists(atPath: single.path) {
            let file = try SafetensorsFile(url: single)
            shards = ["model.safetensors": file]
            location = file.tensors.mapValues { _ in "model.safetensors" }
        } else {
            throw TensorIOError.checkpoint("\(directory.path): no model.safetensors or model.safetensors.index.json")
        }
    }

    private static func readIndex(_ url: URL) throws -> [String: String] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw TensorIOError.checkpoint("cannot read \(url.path): \(error.localizedDescription)")
        }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TensorIOError.checkpoint("\(url.path): not a well-formed JSON object")
        }
        guard let map = object["weight_map"] as? [String: String] else {
            throw TensorIOError.checkpoint("\(url.path): missing or malformed 'weight_map'")
        }
        return map
    }

    /// The file holding `name` and its header entry, or an error naming the tensor.
    public func locate(_ name: String) throws -> (file: SafetensorsFile, info: SafetensorsTensorInfo) {
        guard let shardName = location[name], let file = shards[shardName] else {
            throw TensorIOError.checkpoint("\(directory.path): missing tensor '\(name)'")
        }
        return (file, try file.info(name))
    }

    public func contains(_ name: String) -> Bool { location[name] != nil }

    /// The dtype most weights are stored in (for `inspect`).
    public var predominantDType: String {
        var bytesByDType: [String: Int] = [:]
        for file in shards.values {
            for info in file.tensors.values { bytesByDType[info.dtypeName, default: 0] += info.byteRange.count }
        }
        return bytesByDType.max { $0.value < $1.value }?.key ?? "none"
    }

    /// Total bytes of tensor data across shards.
    public var storedBytes: Int {
        shards.values.reduce(0) { $0 + $1.tensors.values.reduce(0) { $0 + $1.byteRange.count } }
    }
}
