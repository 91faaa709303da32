import Foundation
import Testing
import TOML

/// The decoder against an independent reading: `Fixtures/toml_cases.json` records what Python's
/// tomllib (TOML 1.0) makes of 700 documents, hand-written and mutated
/// (`Tools/make_toml_cases.py`). The Swift decoder must give the same value, or refuse the same
/// document; a refused document must never crash it.
@Suite struct TOMLConformanceTests {
    struct Case: Decodable, Sendable {
        let text: String
        /// tomllib's reading in the canonical form `render` writes; nil when it refuses the text.
        let expected: String?
    }

    static func cases() throws -> [Case] {
        struct File: Decodable { let cases: [Case] }
        let url = try #require(Bundle.module.url(forResource: "toml_cases", withExtension: "json", subdirectory: "Fixtures"))
        return try JSONDecoder().decode(File.self, from: Data(contentsOf: url)).cases
    }

    /// The generator's canonical form: code points in hex, IEEE-754 bits, sorted keys.
    static func render(_ value: TOMLValue) -> String {
        switch value {
        case .string(let text): "s:" + text.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: ",")
        case .integer(let number): "i:\(number)"
        case .float(let number): number.isNaN ? "f:nan" : "f:\(number.bitPattern)"
        case .boolean(let flag): "b:\(flag)"
        case .dateTime: "d"
        case .array(let items): "[" + items.map(render).joined(separator: ";") + "]"
        case .table(let table):
            "{" + table.keys.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
                .compactMap { key in table[key].map { "\(key)=\(render($0))" } }.joined(separator: ";") + "}"
        }
    }

    @Test func coversValidAndInvalidDocuments() throws {
        let cases = try Self.cases()
        #expect(cases.count > 500)
        #expect(cases.filter { $0.expected != nil }.count > 100)
        #expect(cases.filter { $0.expected == nil }.count > 100)
    }

    @Test func agreesWithTomllib() throws {
        var disagreements: [String] = []
        for testCase in try Self.cases() {
            let ours: String?
            do { ours = Self.render(.table(try TOMLDocument.parse(testCase.text))) } catch { ours = nil }
            if ours != testCase.expected {
                disagreements.append("\(testCase.text.debugDescription): tomllib \(testCase.expected ?? "refuses"), ours \(ours ?? "refuses")")
            }
        }
        #expect(disagreements.isEmpty, "\(disagreements.count) documents read differently:\n\(disagreements.prefix(20).joined(separator: "\n"))")
    }
}
