/// Reads TOML 1.0 text into a `TOMLTable`.
///
/// lomad reads two operator files with it (`lomad.toml` and the clients file), both re-read on
/// SIGHUP, so any text must give a table or an error naming the line and column, never a crash or
/// a leak. It replaces TOMLKit, whose parser (toml++, C++) aborted the process on some malformed
/// text (found by fuzzing: a `[` with no table name after it, `[}]`), read the text as a C string
/// (a NUL silently cut it short) and leaked on every parse. Written in Swift it needs no pre-lexer
/// and no LeakSanitizer suppressions, and the config fuzz target runs with leak detection on.
///
/// apple/swift-configuration was weighed instead (issue 15): it reads JSON, YAML and property
/// lists but has no TOML format, so lomad would still need this decoder, and its provider model
/// (its own key mapping and errors) would sit beside `ServiceSettings.keys` rather than replace it.
public enum TOMLDocument {
    /// The deepest nesting of tables and arrays accepted: far beyond any real file, and small
    /// enough that neither parsing nor freeing the result can exhaust the stack.
    public static let maximumDepth = 100

    /// The document's root table, or the first reason the text is not TOML.
    public static func parse(_ text: String) throws(TOMLError) -> TOMLTable {
        var parser = TOMLParser(text)
        return try parser.document()
    }
}

/// Why a text is not TOML, with the 1-based line and column where reading stopped.
public struct TOMLError: Error, Equatable, CustomStringConvertible {
    public let line: Int
    public let column: Int
    public let reason: String

    public init(line: Int, column: Int, reason: String) {
        self.line = line
        self.column = column
        self.reason = reason
    }

    public var description: String { "not valid TOML at line \(line), column \(column): \(reason)" }
}
