import Foundation

func printError(_ message: String) {
    FileHandle.standardError.write(Data((message + "\n").utf8))
}

/// Prints `object` (dictionaries, arrays, strings, numbers) as JSON with sorted keys.
///
/// Written with JSONSerialization rather than protobuf's JSON mapping, which writes 64-bit
/// integers as strings and leaves out fields at their default (an OK status, a zero count): a
/// script reading `lomactl --json` gets numbers as numbers and every field, always.
func printJSON(_ object: Any) throws {
    let data = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
    print(String(decoding: data, as: UTF8.self))
}
