import Foundation
import LoMAModel
import LoMATestSupport
import Testing

/// The engine reads `config.json` as the numpy reference does (issue 15 item 8): every variant in
/// `Fixtures/config_checks.json` carries the reference's recorded verdict (`Tools/make_config_checks.py`
/// runs `Tools/loma_reference/config.py` on it). The engine must refuse what the reference refuses,
/// naming the same field, and accept what it accepts with the same derived fields, so a checkpoint
/// the reference would reject is never computed by lomad.
@Suite struct ConfigurationReferenceTests {
    /// What the reference derived from a variant it accepted.
    struct Derived: Decodable, Sendable {
        let architecture: String
        let headDim: Int
        let numKeyValueHeads: Int
        let qkvBias: Bool
        let outputBias: Bool
        let mlpBias: Bool
        let ropeType: String
        let ropeTheta: Double
    }

    struct Check: Decodable, Sendable, CustomTestStringConvertible {
        let name: String
        let field: String
        let refused: Bool
        let referenceMessage: String?
        let reference: Derived?
        /// The variant's `config.json`, as the file records it.
        var config = Data()

        enum CodingKeys: String, CodingKey {
            case name, field, refused, referenceMessage, reference
        }

        var testDescription: String { name }
    }

    static func checks() throws -> [Check] {
        let data = try Data(contentsOf: Bundle.module.bundleURL.appendingPathComponent("Fixtures/config_checks.json"))
        struct File: Decodable { let checks: [Check] }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        var checks = try decoder.decode(File.self, from: data).checks
        // The configs themselves are arbitrary JSON (wrong types included), so they are passed on
        // byte for byte rather than decoded into a Swift type.
        let raw = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let entries = try #require(raw["checks"] as? [[String: Any]])
        for index in checks.indices {
            checks[index].config = try JSONSerialization.data(withJSONObject: try #require(entries[index]["config"]))
        }
        return checks
    }

    /// The recorded set keeps what the issue names, so a regenerated file cannot quietly drop it.
    @Test func coversTheNamedRefusals() throws {
        let refusedFields = Set(try Self.checks().filter(\.refused).map(\.field))
        for field in ["hidden_act", "use_sliding_window", "num_key_value_heads", "head_dim", "vocab_size", "rope_type",
                      "factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings", "memory_token_ids"] {
            #expect(refusedFields.contains(field), "no recorded refusal for \(field)")
        }
    }

    @Test(arguments: try checks())
    func agreesWithTheReference(_ check: Check) throws {
        let directory = try TemporaryDirectory("lomad-config")
        defer { directory.remove() }
        let file = directory.url.appendingPathComponent("config.json")
        try check.config.write(to: file)
        if check.refused {
            let reason = check.referenceMessage ?? ""
            let error = #expect(throws: LoMAModelError.self, "the reference refuses: \(reason)") {
                try ModelConfiguration.load(from: file)
            }
            #expect(error?.message.contains(check.field) == true,
                    "expected an error naming \(check.field) (reference: \(reason)), got \(String(describing: error))")
            return
        }
        let configuration = try ModelConfiguration.load(from: file)
        let reference = try #require(check.reference)
        #expect(configuration.architecture == (reference.architecture == "qwen2" ? .qwen2 : .llama))
        #expect(configuration.headDim == reference.headDim)
        #expect(configuration.numKeyValueHeads == reference.numKeyValueHeads)
        #expect(configuration.qkvBias == reference.qkvBias)
        #expect(configuration.outputBias == reference.outputBias)
        #expect(configuration.mlpBias == reference.mlpBias)
        #expect(configuration.rope.kind.rawValue == reference.ropeType)
        #expect(configuration.rope.theta == reference.ropeTheta)
    }
}
