/// A recursive-descent reader of TOML 1.0 (https://toml.io/en/v1.0.0) over Unicode scalars: the
/// document structure (lines, headers, keys) here, values in `TOMLParser+Values.swift`. Every
/// failure is a `TOMLError` at the scalar where reading stopped; nesting is bounded by
/// `TOMLDocument.maximumDepth`.
struct TOMLParser {
    let scalars: [Unicode.Scalar]
    var index = 0
    let tree = TOMLTree()

    init(_ text: String) {
        var scalars = Array(text.unicodeScalars)
        if scalars.first == "\u{FEFF}" { scalars.removeFirst() }  // a byte order mark is not content
        self.scalars = scalars
    }

    var current: Unicode.Scalar? { index < scalars.count ? scalars[index] : nil }

    func peek(_ offset: Int) -> Unicode.Scalar? {
        index + offset < scalars.count ? scalars[index + offset] : nil
    }

    /// An error at `position` (the current scalar unless given).
    func failure(_ reason: String, at position: Int? = nil) -> TOMLError {
        let end = min(position ?? index, scalars.count)
        var line = 1, column = 1
        for scalar in scalars[..<end] {
            if scalar == "\n" { line += 1; column = 1 } else { column += 1 }
        }
        return TOMLError(line: line, column: column, reason: reason)
    }

    /// What the current scalar is, for messages: the character, or "end of file".
    var found: String {
        guard let scalar = current else { return "end of file" }
        switch scalar {
        case "\n": return "a line end"
        case _ where scalar.value < 0x20 || scalar.value == 0x7F:
            let hex = String(scalar.value, radix: 16, uppercase: true)
            return "control character U+" + String(repeating: "0", count: 4 - hex.count) + hex
        default: return "'\(Character(scalar))'"
        }
    }

    mutating func document() throws(TOMLError) -> TOMLTable {
        var table = tree.root
        var depth = 0
        while current != nil {
            skipBlanks()
            switch current {
            case nil:
                break
            case "#", "\n", "\r":
                try endOfLine()
            case "[":
                (table, depth) = try header()
                try endOfLine()
            default:
                try keyValue(in: table, depth: depth)
                try endOfLine()
            }
        }
        return tree.root.value
    }

    /// `key = value`, at the top level or inside an inline table: assigns the value in `table`,
    /// whose keys already stand `depth` levels deep.
    mutating func keyValue(in table: TOMLTree.Table, depth: Int) throws(TOMLError) {
        let start = index
        let path = try key()
        guard depth + path.count <= TOMLDocument.maximumDepth else {
            throw failure("keys nested deeper than \(TOMLDocument.maximumDepth) levels", at: start)
        }
        try expect("=", "'=' after the key")
        skipBlanks()
        let value = try value(depth: depth + path.count)
        do { try tree.assign(path, value, in: table) } catch { throw failure(error.reason, at: start) }
    }

    /// `[a.b]` or `[[a.b]]`: the table it opens and its depth.
    private mutating func header() throws(TOMLError) -> (TOMLTree.Table, Int) {
        let start = index
        index += 1
        let appending = current == "["
        if appending { index += 1 }
        skipBlanks()
        let path = try key()
        guard path.count <= TOMLDocument.maximumDepth else {
            throw failure("a table header nested deeper than \(TOMLDocument.maximumDepth) levels", at: start)
        }
        try expect("]", appending ? "']]' to close the table header" : "']' to close the table header")
        if appending {
            guard current == "]" else { throw failure("expected ']]' to close the array-of-tables header, found \(found)") }
            index += 1
        }
        do {
            return (try tree.open(path, appending: appending), path.count)
        } catch {
            throw failure(error.reason, at: start)
        }
    }

    /// A key, dotted or not; blanks around the dots are allowed.
    mutating func key() throws(TOMLError) -> [String] {
        var parts: [String] = []
        while true {
            switch current {
            case "\"":
                parts.append(try basicString())
            case "'":
                parts.append(try literalString())
            case let scalar? where Self.isBareKey(scalar):
                let start = index
                while let scalar = current, Self.isBareKey(scalar) { index += 1 }
                parts.append(String(String.UnicodeScalarView(scalars[start..<index])))
            default:
                throw failure("expected a key, found \(found)")
            }
            skipBlanks()
            guard current == "." else { return parts }
            index += 1
            skipBlanks()
        }
    }

    static func isBareKey(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", "_", "-": true
        default: false
        }
    }

    /// Consumes `scalar`, or fails saying what was expected.
    mutating func expect(_ scalar: Unicode.Scalar, _ what: String) throws(TOMLError) {
        skipBlanks()
        guard current == scalar else { throw failure("expected \(what), found \(found)") }
        index += 1
    }

    mutating func skipBlanks() {
        while current == " " || current == "\t" { index += 1 }
    }

    /// Blanks, an optional comment, then a line end or the end of the file.
    mutating func endOfLine() throws(TOMLError) {
        skipBlanks()
        if current == "#" { try comment() }
        switch current {
        case nil: return
        case "\n": index += 1
        case "\r" where peek(1) == "\n": index += 2
        default: throw failure("expected the end of the line, found \(found)")
        }
    }

    /// A comment up to (not including) its line end; control characters other than tab are not allowed.
    mutating func comment() throws(TOMLError) {
        index += 1
        while let scalar = current, scalar != "\n" {
            if scalar == "\r", peek(1) == "\n" { return }
            if Self.isControl(scalar) { throw failure("\(found) is not allowed in a comment") }
            index += 1
        }
    }

    /// Blanks, line ends and comments, as allowed between array elements.
    mutating func skipBlanksAndLines() throws(TOMLError) {
        while true {
            skipBlanks()
            switch current {
            case "#": try comment()
            case "\n": index += 1
            case "\r" where peek(1) == "\n": index += 2
            default: return
            }
        }
    }

    /// Characters TOML allows nowhere outside multi-line strings' line ends: all C0 controls but
    /// tab, and DEL.
    static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        (scalar.value < 0x20 && scalar != "\t") || scalar.value == 0x7F
    }
}
