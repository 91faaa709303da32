import Foundation
import LoMAModel
import Testing

/// `config.json` parsing: both transformers styles, derived fields and refusals.
@Suite struct ConfigurationTests {
    static var base: [String: Any] { [
        "architectures": ["LlamaForCausalLM"], "hidden_size": 64, "intermediate_size": 128,
        "num_hidden_layers": 2, "num_attention_heads": 8, "vocab_size": 100, "rms_norm_eps": 1e-5,
        "loma": ["segment_length": 16, "compression_ratio": 4, "memory_token_ids": [99]],
    ] }

    func decode(_ edit: (inout [String: Any]) -> Void = { _ in }) throws -> ModelConfiguration {
        var object = Self.base
        edit(&object)
        return try JSONDecoder().decode(ModelConfiguration.self, from: JSONSerialization.data(withJSONObject: object))
    }

    @Test func derivesHeadDimAndKeyValueHeads() throws {
        let configuration = try decode()
        #expect(configuration.headDim == 8)
        #expect(configuration.numKeyValueHeads == 8)
        #expect(configuration.loma.memoryTokensPerSegment == 4)
        #expect(configuration.loma.memoryTokenId(3) == 99)
        #expect(configuration.rope.kind == .default && configuration.rope.theta == 10_000)
    }

    @Test func version4AndVersion5RoPEKeysAgree() throws {
        let llama3: [String: Any] = ["factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, "original_max_position_embeddings": 8192]
        let v4 = try decode {
            $0["rope_theta"] = 500_000.0
            $0["rope_scaling"] = llama3.merging(["rope_type": "llama3"]) { $1 }
        }
        let v5 = try decode { $0["rope_parameters"] = llama3.merging(["rope_type": "llama3", "rope_theta": 500_000.0]) { $1 } }
        #expect(v4 == v5)
        #expect(v4.rope.kind == .llama3 && v4.rope.theta == 500_000)
        let legacyLinear = try decode { $0["rope_scaling"] = ["type": "linear", "factor": 2.0] }
        #expect(legacyLinear.rope.kind == .linear && legacyLinear.rope.factor == 2)
    }

    @Test func llama3FrequenciesFollowTheThreeBands() throws {
        let configuration = try decode {
            $0["head_dim"] = 128
            $0["rope_parameters"] = ["rope_type": "llama3", "rope_theta": 500_000.0, "factor": 8.0, "low_freq_factor": 1.0,
                                     "high_freq_factor": 4.0, "original_max_position_embeddings": 8192]
        }
        let scaled = configuration.rope.inverseFrequencies(headDim: 128)
        var plain = configuration.rope
        plain.kind = .default
        let unscaled = plain.inverseFrequencies(headDim: 128)
        for (s, u) in zip(scaled, unscaled) {
            let wavelength = 2 * Double.pi / u
            if wavelength < 8192 / 4 { #expect(s == u) }  // high frequencies untouched
            else if wavelength > 8192 { #expect(abs(s - u / 8) <= 1e-15 * u) }  // low frequencies divided by factor
            else { #expect(s < u && s > u / 8) }  // smooth blend in between
        }
    }

    @Test func qwen2HasQueryKeyValueBiasesOnly() throws {
        let configuration = try decode { $0["architectures"] = ["Qwen2ForCausalLM"] }
        #expect(configuration.qkvBias && !configuration.outputBias)
        let llama = try decode { $0["attention_bias"] = true }
        #expect(llama.qkvBias && llama.outputBias)
    }

    @Test func acceptsWhatTheEngineComputes() throws {
        #expect(try decode { $0["hidden_act"] = "silu" }.architecture == .llama)
        // Qwen2 checkpoints name a sliding window they do not use; only a window in use is refused.
        #expect(try decode { $0["architectures"] = ["Qwen2ForCausalLM"]; $0["use_sliding_window"] = false }.architecture == .qwen2)
    }

    @Test func refusesInconsistentValues() throws {
        let cases: [(String, (inout [String: Any]) -> Void)] = [
            ("num_key_value_heads", { $0["num_key_value_heads"] = 3 }),
            ("head_dim", { $0["hidden_size"] = 60 }),
            ("memory_token_ids", { $0["loma"] = ["segment_length": 16, "compression_ratio": 4, "memory_token_ids": [1, 2]] }),
            ("compression_ratio", { $0["loma"] = ["segment_length": 16, "compression_ratio": 5, "memory_token_ids": [1]] }),
            ("vocab_size", { $0["loma"] = ["segment_length": 16, "compression_ratio": 4, "memory_token_ids": [100]] }),
            ("factor", { $0["rope_scaling"] = ["rope_type": "linear"] }),
            ("hidden_act", { $0["hidden_act"] = "gelu" }),
            ("use_sliding_window", { $0["architectures"] = ["Qwen2ForCausalLM"]; $0["use_sliding_window"] = true }),
        ]
        for (field, edit) in cases {
            let error = #expect(throws: LoMAModelError.self) { try decode(edit) }
            #expect(error?.message.contains(field) == true, "expected an error naming \(field), got \(String(describing: error))")
        }
    }
}
