/// Values: strings (four kinds), numbers, booleans, date-times, arrays and inline tables.
extension TOMLParser {
    /// The value starting at the current scalar; `depth` is how deeply it is nested already.
    mutating func value(depth: Int) throws(TOMLError) -> TOMLValue {
        switch current {
        case "\"":
            return .string(peek(1) == "\"" && peek(2) == "\"" ? try multiLineBasicString() : try basicString())
        case "'":
            return .string(peek(1) == "'" && peek(2) == "'" ? try multiLineLiteralString() : try literalString())
        case "[":
            return try array(depth: depth + 1)
        case "{":
            return try inlineTable(depth: depth + 1)
        case "t" where word("true"):
            index += 4
            return .boolean(true)
        case "f" where word("false"):
            index += 5
            return .boolean(false)
        case let scalar? where scalar == "+" || scalar == "-" || scalar == "i" || scalar == "n" || ("0"..."9").contains(scalar):
            return try numberOrDate()
        default:
            throw failure("expected a value, found \(found)")
        }
    }

    private func word(_ text: String) -> Bool {
        for (offset, scalar) in text.unicodeScalars.enumerated() where peek(offset) != scalar { return false }
        return true
    }

    // MARK: strings

    /// `"..."`, with escapes; one line.
    mutating func basicString() throws(TOMLError) -> String {
        index += 1
        var result = String.UnicodeScalarView()
        while true {
            guard let scalar = current else { throw failure("unterminated string") }
            switch scalar {
            case "\"":
                index += 1
                return String(result)
            case "\\":
                result.append(try escape())
            case "\n", "\r":
                throw failure("unterminated string (a line end inside \"...\"; use \"\"\"...\"\"\" for several lines)")
            case _ where Self.isControl(scalar):
                throw failure("\(found) is not allowed in a string; write it as an escape")
            default:
                result.append(scalar)
                index += 1
            }
        }
    }

    /// `'...'`: no escapes; one line.
    mutating func literalString() throws(TOMLError) -> String {
        index += 1
        var result = String.UnicodeScalarView()
        while true {
            guard let scalar = current else { throw failure("unterminated literal string") }
            switch scalar {
            case "'":
                index += 1
                return String(result)
            case "\n", "\r":
                throw failure("unterminated literal string (a line end inside '...')")
            case _ where Self.isControl(scalar):
                throw failure("\(found) is not allowed in a string")
            default:
                result.append(scalar)
                index += 1
            }
        }
    }

    /// `"""..."""`: escapes, line ends kept, a line-ending backslash joins lines.
    mutating func multiLineBasicString() throws(TOMLError) -> String {
        try multiLine(quote: "\"") { (parser) throws(TOMLError) in
            guard parser.current == "\\" else { return nil }
            // A backslash then blanks up to a line end: drop it all, and the blanks and line ends after.
            var ahead = parser.index + 1
            while ahead < parser.scalars.count, parser.scalars[ahead] == " " || parser.scalars[ahead] == "\t" { ahead += 1 }
            if ahead < parser.scalars.count, parser.scalars[ahead] == "\n" || parser.scalars[ahead] == "\r" {
                parser.index = ahead
                while let scalar = parser.current, scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r" {
                    if scalar == "\r", parser.peek(1) != "\n" { throw parser.failure("a carriage return must be followed by a line feed") }
                    parser.index += 1
                }
                return String.UnicodeScalarView()
            }
            return String.UnicodeScalarView([try parser.escape()])
        }
    }

    /// `'''...'''`: taken as written.
    mutating func multiLineLiteralString() throws(TOMLError) -> String {
        try multiLine(quote: "'") { _ in nil }
    }

    /// The common part of both multi-line strings: the opening line end is dropped, up to two
    /// quotes may stand right before the closing three, and `special` reads escapes.
    private mutating func multiLine(
        quote: Unicode.Scalar, special: (inout TOMLParser) throws(TOMLError) -> String.UnicodeScalarView?
    ) throws(TOMLError) -> String {
        index += 3
        if current == "\n" { index += 1 } else if current == "\r", peek(1) == "\n" { index += 2 }
        var result = String.UnicodeScalarView()
        while true {
            guard let scalar = current else { throw failure("unterminated multi-line string") }
            if scalar == quote, peek(1) == quote, peek(2) == quote {
                var run = 3
                while peek(run) == quote { run += 1 }
                guard run <= 5 else { throw failure("too many quotes closing a multi-line string") }
                result.append(contentsOf: Array(repeating: quote, count: run - 3))
                index += run
                return String(result)
            }
            if let escaped = try special(&self) {
                result.append(contentsOf: escaped)
                continue
            }
            if scalar == "\r" {
                // A CRLF line end is kept as "\n", so the value does not depend on how the file was saved.
                guard peek(1) == "\n" else { throw failure("a carriage return must be followed by a line feed") }
                index += 1
                continue
            } else if scalar != "\n", Self.isControl(scalar) {
                throw failure("\(found) is not allowed in a string")
            }
            result.append(scalar)
            index += 1
        }
    }

    /// One escape sequence, at its backslash.
    private mutating func escape() throws(TOMLError) -> Unicode.Scalar {
        let start = index
        index += 1
        guard let letter = current else { throw failure("unterminated escape") }
        index += 1
        switch letter {
        case "b": return "\u{08}"
        case "t": return "\t"
        case "n": return "\n"
        case "f": return "\u{0C}"
        case "r": return "\r"
        case "\"": return "\""
        case "\\": return "\\"
        case "u", "U":
            let count = letter == "u" ? 4 : 8
            guard index + count <= scalars.count else { throw failure("\\\(letter) needs \(count) hex digits", at: start) }
            let digits = String(String.UnicodeScalarView(scalars[index..<(index + count)]))
            guard digits.allSatisfy(\.isHexDigit), let code = UInt32(digits, radix: 16), let scalar = Unicode.Scalar(code) else {
                throw failure("\\\(letter)\(digits) is not a Unicode scalar value", at: start)
            }
            index += count
            return scalar
        default:
            throw failure("unknown escape \\\(Character(letter))", at: start)
        }
    }

    // MARK: arrays and inline tables

    private mutating func array(depth: Int) throws(TOMLError) -> TOMLValue {
        guard depth <= TOMLDocument.maximumDepth else { throw failure("values nested deeper than \(TOMLDocument.maximumDepth) levels") }
        index += 1
        var elements: [TOMLValue] = []
        while true {
            try skipBlanksAndLines()
            if current == "]" {
                index += 1
                return .array(elements)
            }
            elements.append(try value(depth: depth))
            try skipBlanksAndLines()
            switch current {
            case ",": index += 1
            case "]": continue
            default: throw failure("expected ',' or ']' in the array, found \(found)")
            }
        }
    }

    /// `{ a = 1, b.c = 2 }`: on one line, no trailing comma, complete as written.
    private mutating func inlineTable(depth: Int) throws(TOMLError) -> TOMLValue {
        guard depth <= TOMLDocument.maximumDepth else { throw failure("values nested deeper than \(TOMLDocument.maximumDepth) levels") }
        index += 1
        let table = TOMLTree.Table(.header)
        skipBlanks()
        if current == "}" {
            index += 1
            return .table(table.value)
        }
        while true {
            skipBlanks()
            try keyValue(in: table, depth: depth)
            skipBlanks()
            switch current {
            case ",": index += 1
            case "}":
                index += 1
                return .table(table.value)
            default: throw failure("expected ',' or '}' in the inline table (which must fit on one line), found \(found)")
            }
        }
    }

    // MARK: numbers and date-times

    /// An integer, a float or a date-time: the token up to the next delimiter, then classified.
    private mutating func numberOrDate() throws(TOMLError) -> TOMLValue {
        let start = index
        while let scalar = current, Self.isTokenScalar(scalar) { index += 1 }
        // A date and a time may be separated by one space: "1979-05-27 07:32:00Z".
        if index - start == 10, current == " ", let next = peek(1), ("0"..."9").contains(next),
           TOMLDateTime.isLocalDate(Array(scalars[start..<index])) {
            index += 1
            while let scalar = current, Self.isTokenScalar(scalar) { index += 1 }
        }
        let token = Array(scalars[start..<index])
        let text = String(String.UnicodeScalarView(token))
        if let integer = try integer(token, text: text, at: start) { return .integer(integer) }
        if let float = Self.float(token, text: text) { return .float(float) }
        if TOMLDateTime.isValid(token) { return .dateTime(text) }
        throw failure("'\(text)' is not a number, boolean, string or date-time", at: start)
    }

    private static func isTokenScalar(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "A"..."Z", "a"..."z", "0"..."9", "_", "+", "-", ".", ":": true
        default: false
        }
    }

    /// nil when `token` is not shaped like an integer; an error when it is but does not fit.
    private func integer(_ token: [Unicode.Scalar], text: String, at start: Int) throws(TOMLError) -> Int? {
        var digits = token[...]
        var radix = 10
        var negative = false
        if digits.count > 2, digits.first == "0", let prefix = digits.dropFirst().first, ["x", "o", "b"].contains(prefix) {
            radix = prefix == "x" ? 16 : prefix == "o" ? 8 : 2
            digits = digits.dropFirst(2)
        } else {
            if digits.first == "+" || digits.first == "-" {
                negative = digits.first == "-"
                digits = digits.dropFirst()
            }
            // Decimal integers have no leading zeros.
            if digits.count > 1, digits.first == "0" { return nil }
        }
        guard Self.isDigitRun(digits, radix: radix) else { return nil }
        let plain = String(String.UnicodeScalarView(digits.filter { $0 != "_" }))
        guard let magnitude = UInt64(plain, radix: radix) else { throw failure("integer \(text) does not fit in 64 bits", at: start) }
        if negative {
            guard magnitude <= UInt64(Int64.max) + 1 else { throw failure("integer \(text) does not fit in 64 bits", at: start) }
            return magnitude == UInt64(Int64.max) + 1 ? Int.min : -Int(magnitude)
        }
        guard magnitude <= UInt64(Int.max) else { throw failure("integer \(text) does not fit in 64 bits", at: start) }
        return Int(magnitude)
    }

    /// Digits of `radix`, with single underscores only between digits.
    static func isDigitRun(_ digits: ArraySlice<Unicode.Scalar>, radix: Int) -> Bool {
        guard let first = digits.first, let last = digits.last, first != "_", last != "_" else { return false }
        var previousUnderscore = false
        for scalar in digits {
            if scalar == "_" {
                if previousUnderscore { return false }
                previousUnderscore = true
                continue
            }
            previousUnderscore = false
            guard scalar.properties.isASCIIHexDigit, let value = Character(scalar).hexDigitValue, value < radix else { return false }
        }
        return true
    }

    /// A TOML float: sign, integer part, then a fraction, an exponent or both; or inf / nan.
    static func float(_ token: [Unicode.Scalar], text: String) -> Double? {
        var rest = token[...]
        var sign = 1.0
        if rest.first == "+" || rest.first == "-" {
            sign = rest.first == "-" ? -1 : 1
            rest = rest.dropFirst()
        }
        if rest.elementsEqual("inf".unicodeScalars) { return sign * .infinity }
        if rest.elementsEqual("nan".unicodeScalars) { return .nan }
        let exponentAt = rest.firstIndex { $0 == "e" || $0 == "E" }
        let mantissa = exponentAt.map { rest[..<$0] } ?? rest
        let dot = mantissa.firstIndex(of: ".")
        let whole = dot.map { mantissa[..<$0] } ?? mantissa
        guard isDigitRun(whole, radix: 10), whole.count == 1 || whole.first != "0" else { return nil }
        if let dot {
            guard isDigitRun(mantissa[(dot + 1)...], radix: 10) else { return nil }
        }
        if let exponentAt {
            var exponent = rest[(exponentAt + 1)...]
            if exponent.first == "+" || exponent.first == "-" { exponent = exponent.dropFirst() }
            guard isDigitRun(exponent, radix: 10) else { return nil }
        } else if dot == nil {
            return nil
        }
        return Double(String(String.UnicodeScalarView(token.filter { $0 != "_" })))
    }
}
