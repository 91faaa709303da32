import Foundation
import LoMAProtocol
import LoMATestSupport
import Testing

/// The protocol's reference page keeps up with the protocol: every operation has a row in the one
/// Operations table, which nothing splits (a paragraph inside a Markdown table ends it, and the
/// rows after it render as plain text).
@Suite("docs/protocol.md describes every operation")
struct ProtocolDocumentationTests {
    @Test("the Operations table is one unbroken table with a row per operation")
    func operationsTable() throws {
        let page = try String(contentsOf: RepositoryPaths.root.appendingPathComponent("docs/protocol.md"), encoding: .utf8)
        let lines = page.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let heading = try #require(lines.firstIndex(of: "## Operations"), "docs/protocol.md has no '## Operations' section")
        let section = lines[(heading + 1)...].prefix { !$0.hasPrefix("## ") }
        let start = try #require(section.firstIndex { $0.hasPrefix("|") }, "the Operations section has no table")
        let table = section[start...].prefix { $0.hasPrefix("|") }
        let operationsInTable = Set(table.compactMap { row -> [String]? in
            let firstCell = row.split(separator: "|").first?.trimmingCharacters(in: .whitespaces) ?? ""
            return firstCell.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        }.joined())
        for operation in Operation.allCases where operation != .unknown {
            #expect(operationsInTable.contains(operation.description),
                    "operation \(operation) has no row in the Operations table (rows: \(table.count))")
        }
    }

    @Test("the README says the inference server must run the checkpoint lomad serves")
    func sameCheckpointRule() throws {
        let readme = try String(contentsOf: RepositoryPaths.root.appendingPathComponent("README.md"), encoding: .utf8)
        let introduction = readme.components(separatedBy: "## ").prefix(2).joined()
        #expect(introduction.contains("The inference server must run the same LoMA-fine-tuned checkpoint that lomad serves"))
    }
}
