import Foundation
import LoMAClient
import LoMAProtocol
import LoMATensorIO

/// KV safetensors files (`keys`, `values` as `[layers, kv_heads, tokens, head_dim]`, or
/// `[layers, tokens, kv_heads, head_dim]` when tokens-major; output adds `positions`), read as raw
/// bytes and sent as they are: lomactl never converts tensors, the daemon does.
///
/// Every problem with an input file is a `CommandFailure(.badInput)` naming the file and what it
/// does have, and one with an output path a `.failure` naming the path, so a user fixes the file
/// or the flag instead of reading a parser's complaint.
enum KVFiles {
    static func read(_ path: String, layout: KVLayout = .headsMajor) throws -> (keys: TensorPayload, values: TensorPayload) {
        let file = try open(path)
        return (try payload(file, "keys", layout: layout), try payload(file, "values", layout: layout))
    }

    /// Opens `path` as a safetensors file, saying so plainly when it is not one: the format
    /// begins with a little-endian header length and a JSON object, so a file whose ninth byte is
    /// not `{` or whose length field runs past its end is something else (a checkpoint .bin, a
    /// .npy, text), not a damaged safetensors file.
    static func open(_ path: String) throws -> SafetensorsFile {
        let url = URL(fileURLWithPath: path)
        let head: Data
        let size: UInt64
        do {
            let handle = try FileHandle(forReadingFrom: url)
            defer { try? handle.close() }
            head = try handle.read(upToCount: 9) ?? Data()
            size = try handle.seekToEnd()
        } catch {
            var isDirectory: ObjCBool = false
            let reason = !FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) ? "no such file"
                : isDirectory.boolValue ? "it is a directory" : "\(error.localizedDescription)"
            throw CommandFailure(.badInput, "cannot read \(path): \(reason)")
        }
        let headerLength = head.count >= 8 ? head.prefix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) } : 0
        guard head.count == 9, headerLength >= 2, headerLength <= size - 8, head.last == UInt8(ascii: "{") else {
            throw CommandFailure(.badInput, "\(path) is not a safetensors file (it does not begin with a header length and a JSON header)")
        }
        do {
            return try SafetensorsFile(url: url, errorKind: .input)
        } catch let error as TensorIOError {
            throw CommandFailure(.badInput, error.message)
        }
    }

    private static func payload(_ file: SafetensorsFile, _ name: String, layout: KVLayout) throws -> TensorPayload {
        guard let info = file[name] else {
            let present = file.tensors.keys.sorted()
            throw CommandFailure(.badInput, "\(file.url.path) has no tensor '\(name)'; " +
                (present.isEmpty ? "it has no tensors" : "it has \(present.map { "'\($0)'" }.joined(separator: ", "))") +
                " (a KV file holds 'keys' and 'values')")
        }
        guard let dtype = info.dtype else {
            throw CommandFailure(.badInput, "\(file.url.path): tensor '\(name)' has dtype \(info.dtypeName); KV must be F32, F16 or BF16")
        }
        guard info.shape.count == 4 else {
            let axes = layout == .tokensMajor ? "[layers, tokens, kv_heads, head_dim]" : "[layers, kv_heads, tokens, head_dim]"
            throw CommandFailure(.badInput, "\(file.url.path): tensor '\(name)' has shape \(info.shape); KV is \(axes)")
        }
        return TensorPayload(bytes: Data(file.bytes(of: info)), dtype: Loma_V1_DType(dtype), shape: info.shape,
                             layout: Loma_V1_KVLayout(layout))
    }

    /// Token ids from a text file: decimal numbers separated by white space or commas.
    static func readTokens(_ path: String) throws -> [UInt32] {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw CommandFailure(.badInput, "cannot read token ids from \(path): \(FileManager.default.fileExists(atPath: path) ? "not UTF-8 text" : "no such file")")
        }
        var tokens: [UInt32] = []
        for (index, word) in text.split(whereSeparator: { $0.isWhitespace || $0 == "," }).enumerated() {
            guard let token = UInt32(word) else {
                throw CommandFailure(.badInput, "\(path): token \(index) is '\(word.prefix(40))', not a number from 0 to \(UInt32.max)")
            }
            tokens.append(token)
        }
        return tokens
    }

    /// Fails before any work is done when `path` cannot be created: its directory is missing or
    /// is not a directory.
    static func checkWritable(_ path: String) throws {
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory) else {
            throw CommandFailure(.failure, "cannot write \(path): the directory \(directory) does not exist")
        }
        guard isDirectory.boolValue else {
            throw CommandFailure(.failure, "cannot write \(path): \(directory) is not a directory")
        }
    }

    static func write(_ memory: CompressedMemory, to path: String) throws {
        try checkWritable(path)
        var writer = SafetensorsWriter()
        writer.add("keys", dtypeName: try safetensorsName(memory.keys.dtype, of: "keys"), shape: memory.keys.shape, rawBytes: memory.keys.bytes)
        writer.add("values", dtypeName: try safetensorsName(memory.values.dtype, of: "values"), shape: memory.values.shape,
                   rawBytes: memory.values.bytes)
        writer.add("positions", int64: memory.positions)
        do {
            try writer.write(to: URL(fileURLWithPath: path))
        } catch {
            throw CommandFailure(.failure, "cannot write \(path): \(error)")
        }
    }

    /// The header dtype for memory the daemon sent; one a KV file cannot hold is the daemon's
    /// fault, said before anything is written.
    private static func safetensorsName(_ dtype: Loma_V1_DType, of role: String) throws -> String {
        guard let kvDType = dtype.kvDType else {
            throw CommandFailure(.daemonError, "lomad answered memory \(role) in dtype \(dtype.name), which a KV file cannot hold")
        }
        return kvDType.safetensorsName
    }
}
