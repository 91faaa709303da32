import TOMLKit

/// Parses TOML for lomad's two operator files (`lomad.toml`, the clients file) so that no text
/// can take the daemon down. TOMLKit's parser (toml++) asserts, aborting the process, when a
/// line starts with `[` and no table name follows (`[é]`, or `[` alone), and it reads the text as
/// a C string, so a NUL would silently cut the file short; it also asserts on a `}` where an
/// array element belongs (`[}]`, `[1, }]`). Fuzzing found all three (docs/fuzzing.md). Such text
/// is refused here first, with the line named.
enum TOMLDocument {
    /// The parsed table, or the reason the text is not TOML (with line and column).
    static func parse(_ text: String) throws(TOMLDocumentError) -> TOMLTable {
        if let problem = unparseableProblem(in: text) {
            throw TOMLDocumentError("not valid TOML at \(problem)")
        }
        do {
            return try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            throw TOMLDocumentError("not valid TOML at line \(error.source.begin.line), column \(error.source.begin.column): \(error.description)")
        } catch {
            throw TOMLDocumentError("not valid TOML: \(error)")
        }
    }

    /// What toml++ must never see, described: a control character TOML allows nowhere (all but
    /// tab, line feed and carriage return), or a `[` starting a line that no table name follows.
    /// Lines inside multi-line strings and arrays are checked the same way: a string line
    /// starting `[é` is refused, which no setting or clients-file value needs.
    static func unparseableProblem(in text: String) -> String? {
        // Lines of scalars, not Characters: "\r\n" is one Character and would hide the "\n".
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, line) in lines.enumerated() {
            if let offset = line.firstIndex(where: { ($0.value < 0x20 && $0 != "\t" && $0 != "\r") || $0.value == 0x7F }) {
                let column = line.distance(from: line.startIndex, to: offset) + 1
                let code = String(line[offset].value, radix: 16, uppercase: true)
                return "line \(index + 1), column \(column): control character U+\(String(repeating: "0", count: 4 - code.count))\(code) is not allowed"
            }
            let blank: (Unicode.Scalar) -> Bool = { $0 == " " || $0 == "\t" }
            var header = line.drop(while: blank)
            guard header.first == "[" else { continue }
            header = header.dropFirst().drop(while: blank)
            if header.first == "[" { header = header.dropFirst().drop(while: blank) }
            guard let first = header.first, startsTableName(first) else {
                return "line \(index + 1): '[' must be followed by a table name"
            }
        }
        return misplacedClosingBrace(in: text)
    }

    /// A `}` right after `[` or `,` (blanks, line ends and comments between), outside strings
    /// and comments: never valid TOML (an inline table may not end in a comma either).
    private static func misplacedClosingBrace(in text: String) -> String? {
        let scalars = Array(text.unicodeScalars)
        var line = 1
        var previous: Unicode.Scalar?
        var index = 0
        while index < scalars.count {
            let scalar = scalars[index]
            switch scalar {
            case "\n":
                line += 1
            case "#":
                while index + 1 < scalars.count, scalars[index + 1] != "\n" { index += 1 }
            case "\"", "'":
                index = endOfString(scalars, from: index, line: &line)
                previous = scalar
            case "}" where previous == "[" || previous == ",":
                return "line \(line): '}' where an array element belongs"
            case " ", "\t", "\r":
                break
            default:
                previous = scalar
            }
            index += 1
        }
        return nil
    }

    /// The index of the last scalar of the string starting at `start` (basic or literal,
    /// one-line or multi-line), counting the line ends it spans; the end of the text if unclosed.
    private static func endOfString(_ scalars: [Unicode.Scalar], from start: Int, line: inout Int) -> Int {
        let quote = scalars[start]
        let multiLine = start + 2 < scalars.count && scalars[start + 1] == quote && scalars[start + 2] == quote
        var index = start + (multiLine ? 3 : 1)
        while index < scalars.count {
            let scalar = scalars[index]
            if scalar == "\n" {
                line += 1
                if !multiLine { return index - 1 }
            } else if scalar == "\\", quote == "\"" {
                index += 1
                if index < scalars.count, scalars[index] == "\n" { line += 1 }
            } else if scalar == quote {
                if !multiLine { return index }
                if index + 2 < scalars.count, scalars[index + 1] == quote, scalars[index + 2] == quote { return index + 2 }
            }
            index += 1
        }
        return scalars.count - 1
    }

    /// A bare key character, a quote starting a quoted key, or the `]` of an empty header (which
    /// toml++ reports itself).
    private static func startsTableName(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", "_", "-", "\"", "'", "]": true
        default: false
        }
    }
}

/// Why a text is not TOML lomad can read, with the line named.
struct TOMLDocumentError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
