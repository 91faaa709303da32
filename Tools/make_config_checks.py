#!/usr/bin/env python3
"""Write Tests/LoMAModelTests/Fixtures/config_checks.json: the numpy reference's verdict on config variants.

    python3 Tools/make_config_checks.py [--output FILE]     (numpy only)

Each check is one edit of a valid Llama `config.json` (or of the same config as Qwen2). The
reference (`Tools/loma_reference/config.py`, `parse_config`) reads every variant; its verdict and,
for a refusal, its message are recorded. `Tests/LoMAModelTests/ConfigurationReferenceTests.swift`
loads each variant with the Swift engine, which must accept what the reference accepts and refuse
what it refuses with a message naming the same field. A check whose reference message does not
name its field stops this script, so a recorded refusal always names it.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from loma_reference.config import ConfigError, parse_config  # noqa: E402

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUTPUT = os.path.join(REPOSITORY, "Tests", "LoMAModelTests", "Fixtures", "config_checks.json")

BASE: dict[str, Any] = {
    "architectures": ["LlamaForCausalLM"],
    "model_type": "llama",
    "hidden_act": "silu",
    "hidden_size": 64,
    "intermediate_size": 128,
    "num_hidden_layers": 2,
    "num_attention_heads": 8,
    "num_key_value_heads": 4,
    "vocab_size": 100,
    "rms_norm_eps": 1e-5,
    "rope_theta": 10000.0,
    "loma": {"segment_length": 16, "compression_ratio": 4, "memory_token_ids": [99]},
}
QWEN2 = {"architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2"}
LLAMA3 = {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_position_embeddings": 8192}

# (name, field the verdict is about, top-level keys to set (None deletes))
CHECKS: list[tuple[str, str, dict[str, Any]]] = [
    ("base_llama", "architectures", {}),
    ("base_qwen2", "architectures", QWEN2),
    ("unknown_architecture", "architectures", {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"}),
    ("hidden_act_gelu", "hidden_act", {"hidden_act": "gelu"}),
    ("hidden_act_absent", "hidden_act", {"hidden_act": None}),
    ("qwen2_sliding_window_on", "use_sliding_window", {**QWEN2, "use_sliding_window": True}),
    ("qwen2_sliding_window_off", "use_sliding_window", {**QWEN2, "use_sliding_window": False, "sliding_window": 4096}),
    ("hidden_size_zero", "hidden_size", {"hidden_size": 0}),
    ("hidden_size_string", "hidden_size", {"hidden_size": "64"}),
    ("hidden_size_missing", "hidden_size", {"hidden_size": None}),
    ("intermediate_size_zero", "intermediate_size", {"intermediate_size": 0}),
    ("num_hidden_layers_negative", "num_hidden_layers", {"num_hidden_layers": -1}),
    ("num_attention_heads_zero", "num_attention_heads", {"num_attention_heads": 0}),
    ("num_key_value_heads_zero", "num_key_value_heads", {"num_key_value_heads": 0}),
    ("num_key_value_heads_not_divisor", "num_key_value_heads", {"num_key_value_heads": 3}),
    ("num_key_value_heads_absent", "num_key_value_heads", {"num_key_value_heads": None}),
    ("vocab_size_zero", "vocab_size", {"vocab_size": 0}),
    ("head_dim_underivable", "head_dim", {"hidden_size": 60}),
    ("head_dim_given", "head_dim", {"hidden_size": 60, "head_dim": 16}),
    ("head_dim_odd", "head_dim", {"head_dim": 7}),
    ("head_dim_zero", "head_dim", {"head_dim": 0}),
    ("attention_bias_string", "attention_bias", {"attention_bias": "yes"}),
    ("qwen2_mlp_bias_ignored", "mlp_bias", {**QWEN2, "mlp_bias": True}),
    ("tie_word_embeddings_number", "tie_word_embeddings", {"tie_word_embeddings": "true"}),
    ("rms_norm_eps_string", "rms_norm_eps", {"rms_norm_eps": "1e-5"}),
    ("rope_scaling_string", "rope_scaling", {"rope_scaling": "linear"}),
    ("rope_type_unknown", "rope_type", {"rope_scaling": {"rope_type": "yarn", "factor": 4.0}}),
    ("rope_linear_without_factor", "factor", {"rope_scaling": {"type": "linear"}}),
    ("rope_linear_v4_type", "factor", {"rope_scaling": {"type": "linear", "factor": 2.0}}),
    ("rope_llama3_v4", "rope_scaling", {"rope_scaling": LLAMA3}),
    ("rope_llama3_v5", "rope_parameters", {"rope_theta": None, "rope_parameters": {**LLAMA3, "rope_theta": 500000.0}}),
    ("rope_llama3_without_factor", "factor", {"rope_scaling": {k: v for k, v in LLAMA3.items() if k != "factor"}}),
    ("rope_llama3_without_low_freq_factor", "low_freq_factor",
     {"rope_scaling": {k: v for k, v in LLAMA3.items() if k != "low_freq_factor"}}),
    ("rope_llama3_without_high_freq_factor", "high_freq_factor",
     {"rope_scaling": {k: v for k, v in LLAMA3.items() if k != "high_freq_factor"}}),
    ("rope_llama3_bands_inverted", "high_freq_factor", {"rope_scaling": {**LLAMA3, "high_freq_factor": 1.0}}),
    ("rope_llama3_without_original_max", "original_max_position_embeddings",
     {"rope_scaling": {k: v for k, v in LLAMA3.items() if k != "original_max_position_embeddings"}}),
    ("rope_theta_string", "rope_theta", {"rope_theta": "10000"}),
    ("loma_missing", "loma", {"loma": None}),
    ("loma_segment_length_zero", "segment_length",
     {"loma": {"segment_length": 0, "compression_ratio": 4, "memory_token_ids": [1]}}),
    ("loma_compression_ratio_zero", "compression_ratio",
     {"loma": {"segment_length": 16, "compression_ratio": 0, "memory_token_ids": [1]}}),
    ("loma_ratio_not_divisor", "compression_ratio",
     {"loma": {"segment_length": 16, "compression_ratio": 5, "memory_token_ids": [1]}}),
    ("loma_memory_token_ids_missing", "memory_token_ids", {"loma": {"segment_length": 16, "compression_ratio": 4}}),
    ("loma_memory_token_ids_count", "memory_token_ids",
     {"loma": {"segment_length": 16, "compression_ratio": 4, "memory_token_ids": [1, 2]}}),
    ("loma_memory_token_ids_full", "memory_token_ids",
     {"loma": {"segment_length": 16, "compression_ratio": 4, "memory_token_ids": [1, 2, 3, 4]}}),
    ("loma_memory_token_id_outside_vocabulary", "memory_token_ids",
     {"loma": {"segment_length": 16, "compression_ratio": 4, "memory_token_ids": [100]}}),
    ("loma_memory_token_id_negative", "memory_token_ids",
     {"loma": {"segment_length": 16, "compression_ratio": 4, "memory_token_ids": [-1]}}),
]


def variant(edits: dict[str, Any]) -> dict[str, Any]:
    config = copy.deepcopy(BASE)
    for key, value in edits.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = copy.deepcopy(value)
    return config


def verdict(name: str, field: str, config: dict[str, Any]) -> dict[str, Any]:
    """The reference's verdict on one variant; a refusal must name `field`."""
    try:
        parsed = parse_config(config)
    except ConfigError as error:
        message = str(error)
        if field not in message:
            raise SystemExit(f"make_config_checks: {name}: the reference's message does not name {field!r}: {message}")
        return {"name": name, "field": field, "config": config, "refused": True, "reference_message": message}
    return {"name": name, "field": field, "config": config, "refused": False,
            "reference": {"architecture": parsed.architecture, "head_dim": parsed.head_dim,
                          "num_key_value_heads": parsed.num_key_value_heads, "qkv_bias": parsed.attention_bias,
                          "output_bias": parsed.output_bias, "mlp_bias": parsed.mlp_bias,
                          "rope_type": parsed.rope.rope_type, "rope_theta": parsed.rope.theta}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default=DEFAULT_OUTPUT)
    arguments = parser.parse_args(argv)
    checks = [verdict(name, field, variant(edits)) for name, field, edits in CHECKS]
    with open(arguments.output, "w", encoding="utf-8") as handle:
        json.dump({"generator": "Tools/make_config_checks.py", "checks": checks}, handle, indent=1, sort_keys=True)
        handle.write("\n")
    refused = sum(check["refused"] for check in checks)
    print(f"wrote {len(checks)} checks ({refused} refused by the reference) to {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
