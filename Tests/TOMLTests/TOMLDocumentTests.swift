import Testing
import TOML

/// TOML 1.0 as https://toml.io/en/v1.0.0 defines it: what must parse, to what, and what must be
/// refused with the line and column at fault.
@Suite struct TOMLDocumentTests {
    @Test func scalarsOfEveryKind() throws {
        let table = try TOMLDocument.parse("""
            # a comment
            int = +1_000
            negative = -17
            smallest = -9223372036854775808
            hex = 0xDEAD_beef
            octal = 0o755
            binary = 0b1101
            float = 6.626e-34
            fraction = -0.5
            exponent = 5e+22
            infinity = -inf
            not_a_number = nan
            yes = true
            no = false   # trailing comment
            basic = "tab\\there \\"quoted\\" \\u00E9 \\U0001F600"
            literal = 'C:\\Users\\nobody'
            date_time = 1979-05-27T07:32:00-08:00
            spaced = 1979-05-27 07:32:00Z
            local_date = 1979-05-27
            local_time = 00:32:00.999999
            """)
        #expect(table["int"] == .integer(1000))
        #expect(table["negative"] == .integer(-17))
        #expect(table["smallest"] == .integer(Int.min))
        #expect(table["hex"] == .integer(0xDEAD_BEEF))
        #expect(table["octal"] == .integer(0o755))
        #expect(table["binary"] == .integer(13))
        #expect(table["float"] == .float(6.626e-34))
        #expect(table["fraction"] == .float(-0.5))
        #expect(table["exponent"] == .float(5e22))
        #expect(table["infinity"] == .float(-.infinity))
        #expect(table["not_a_number"]?.double?.isNaN == true)
        #expect(table["yes"] == .boolean(true) && table["no"] == .boolean(false))
        #expect(table["basic"] == .string("tab\there \"quoted\" é 😀"))
        #expect(table["literal"] == .string("C:\\Users\\nobody"))
        #expect(table["date_time"] == .dateTime("1979-05-27T07:32:00-08:00"))
        #expect(table["spaced"] == .dateTime("1979-05-27 07:32:00Z"))
        #expect(table["local_date"] == .dateTime("1979-05-27"))
        #expect(table["local_time"] == .dateTime("00:32:00.999999"))
        #expect(table.keys.first == "int" && table.keys.last == "local_time", "keys keep the file's order")
    }

    @Test func multiLineStrings() throws {
        let table = try TOMLDocument.parse("a = \"\"\"\none\n  two \\\n   three\"\"\"\nb = '''\nraw \\n ''quoted'''''\nc = \"\"\"\"x\"\"\"\"\n")
        #expect(table["a"] == .string("one\n  two three"))
        #expect(table["b"] == .string("raw \\n ''quoted''"))
        #expect(table["c"] == .string("\"x\""))
        // CRLF inside a multi-line string reads as "\n" (as Python's tomllib reads it).
        #expect(try TOMLDocument.parse("d = \"\"\"\r\nx\r\ny\"\"\"")["d"] == .string("x\ny"))
    }

    @Test func tablesArraysAndInlineTables() throws {
        let table = try TOMLDocument.parse("""
            title = "x"
            [store]
            mode = "durable"
            nested.deeper = 1
            [store.nested.more]
            value = 2
            [ "quoted key" . 'literal' ]
            ok = true
            [[tenants]]
            name = "a"
            [[tenants]]
            name = "b"
            [tenants.limits]
            bytes = 3
            [lists]
            strings = [ "a", 'b',  # comment
              "c", ]
            mixed = [1, "two", [3.0], {four = 4}]
            inline = { x = 1, y.z = "deep" }
            empty = {}
            """)
        #expect(table.keys == ["title", "store", "quoted key", "tenants", "lists"])
        let store = try #require(table["store"]?.table)
        #expect(store["mode"] == .string("durable"))
        #expect(store["nested"]?.table?["deeper"] == .integer(1))
        #expect(store["nested"]?.table?["more"]?.table?["value"] == .integer(2))
        #expect(table["quoted key"]?.table?["literal"]?.table?["ok"] == .boolean(true))
        let tenants = try #require(table["tenants"]?.array)
        #expect(tenants.count == 2)
        #expect(tenants[1].table?["limits"]?.table?["bytes"] == .integer(3))
        let lists = try #require(table["lists"]?.table)
        #expect(lists["strings"] == .array([.string("a"), .string("b"), .string("c")]))
        #expect(lists["mixed"]?.array?.count == 4)
        #expect(lists["inline"]?.table?["y"]?.table?["z"] == .string("deep"))
        #expect(lists["empty"] == .table(TOMLTable()))
    }

    @Test func lineEndsBlanksAndByteOrderMark() throws {
        let table = try TOMLDocument.parse("\u{FEFF}[ store ]\r\n\tmode = \"durable\"\r\n[\"log\"]\nlevel = \"debug\"")
        #expect(table["store"]?.table?["mode"] == .string("durable"))
        #expect(table["log"]?.table?["level"] == .string("debug"))
        #expect(try TOMLDocument.parse("").isEmpty)
        #expect(try TOMLDocument.parse("\n# only a comment\n\n").isEmpty)
    }

    /// Each is not TOML; the error names the line and column where reading stopped. The first
    /// five are the inputs that aborted toml++ (Fuzz/Regressions/config/).
    @Test(arguments: [
        ("[é]\nmode = 1\n", 1, 2, "expected a key, found 'é'"),
        ("[store]\r\n[\r\nmode = 1\n", 2, 2, "expected a key, found control character U+000D"),
        ("endpoints = [}]\n", 1, 14, "expected a value, found '}'"),
        ("endpoints = [1, }]\n", 1, 17, "expected a value, found '}'"),
        ("mode = \"memory\"\u{0}\n", 1, 16, "expected the end of the line, found control character U+0000"),
        ("a = \"x\u{1}\"", 1, 7, "control character U+0001 is not allowed in a string; write it as an escape"),
        ("a = 1\na = 2\n", 2, 1, "key a is defined twice"),
        ("[a]\n[a]\n", 2, 1, "table [a] is defined twice"),
        ("[a]\nb.c = 1\n[a.b]\n", 3, 1, "table [a.b] is defined twice (first by dotted keys)"),
        ("[a.b.c]\n[a]\nb.c.t = 1\n", 3, 1, "dotted key b.c.t adds to table b.c, which a [header] defines"),
        ("[a.b.c]\n[a]\nb.d = 1\n[a.b]\n", 4, 1, "table [a.b] is defined twice (first by dotted keys)"),
        ("a = 1979-02-29\n", 1, 5, "'1979-02-29' is not a number, boolean, string or date-time"),
        ("a = {x = 1}\n[a]\n", 2, 1, "a already holds a table, which cannot be extended"),
        ("a = [1]\n[[a]]\n", 2, 1, "a already holds an array, which cannot be extended"),
        ("[[a]]\n[a]\n", 2, 1, "[a]: a is an array of tables; add to it with [[a]]"),
        ("a = 1 b = 2\n", 1, 7, "expected the end of the line, found 'b'"),
        ("a = 01\n", 1, 5, "'01' is not a number, boolean, string or date-time"),
        ("a = 1__0\n", 1, 5, "'1__0' is not a number, boolean, string or date-time"),
        ("a = 9223372036854775808\n", 1, 5, "integer 9223372036854775808 does not fit in 64 bits"),
        ("a = 1.\n", 1, 5, "'1.' is not a number, boolean, string or date-time"),
        ("a = 1979-13-01\n", 1, 5, "'1979-13-01' is not a number, boolean, string or date-time"),
        ("a = \"unterminated\n", 1, 18, "unterminated string (a line end inside \"...\"; use \"\"\"...\"\"\" for several lines)"),
        ("a = \"\\x\"\n", 1, 6, "unknown escape \\x"),
        ("a = \"\\uD800\"\n", 1, 6, "\\uD800 is not a Unicode scalar value"),
        ("a = { x = 1, }\n", 1, 14, "expected a key, found '}'"),
        ("a = { x = 1,\n y = 2 }\n", 1, 13, "expected a key, found a line end"),
        ("a = [1 2]\n", 1, 8, "expected ',' or ']' in the array, found '2'"),
        ("a = tru\n", 1, 5, "expected a value, found 't'"),
        ("= 1\n", 1, 1, "expected a key, found '='"),
        ("a\n", 1, 2, "expected '=' after the key, found a line end"),
        ("a = 1 # \u{7F}\n", 1, 9, "control character U+007F is not allowed in a comment"),
        ("a = 'x'\r b = 1\n", 1, 8, "expected the end of the line, found control character U+000D"),
        ("[[a]\n", 1, 5, "expected ']]' to close the array-of-tables header, found a line end"),
    ])
    func refusesWithThePlace(text: String, line: Int, column: Int, reason: String) {
        #expect(throws: TOMLError(line: line, column: column, reason: reason)) { try TOMLDocument.parse(text) }
    }

    /// Deep nesting is refused before it can exhaust the stack, whether by arrays, inline tables,
    /// dotted keys or headers.
    @Test func boundsNesting() throws {
        let limit = TOMLDocument.maximumDepth
        // The key's table is the first level.
        _ = try TOMLDocument.parse("a = " + String(repeating: "[", count: limit - 1) + String(repeating: "]", count: limit - 1))
        for text in ["a = " + String(repeating: "[", count: 5000),
                     "a = " + String(repeating: "{b = ", count: limit + 1),
                     Array(repeating: "k", count: limit + 1).joined(separator: ".") + " = 1",
                     "[" + Array(repeating: "k", count: limit + 1).joined(separator: ".") + "]"] {
            let error = #expect(throws: TOMLError.self) { try TOMLDocument.parse(text) }
            #expect(error?.reason.contains("deeper than \(limit) levels") == true, "\(String(describing: error))")
        }
    }
}
