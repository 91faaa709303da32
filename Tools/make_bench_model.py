#!/usr/bin/env python3
"""Write a random-weight checkpoint shaped like Llama-3.2-1B, and KV inputs for it.

    python3 Tools/make_bench_model.py DIR [--vocab 1024] [--layers 16] [--kv-segments 1] [--kv-context 0]

DIR receives config.json (LlamaForCausalLM, llama3 rope, tied embeddings, a `loma` section with
segment_length 64 / ratio 4), model.safetensors in bf16, and kv_input.safetensors (bf16,
heads-major, `--kv-segments` segments) plus kv_context.safetensors when `--kv-context` > 0.
With the real 128256-token vocabulary the file is ~2.5 GB; the default vocabulary of 1024
keeps it at ~1.95 GB (the decoder layers dominate). Not committed: generate at bench time.
Weights are written tensor by tensor, so memory use stays near the largest tensor.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from loma_reference.kv_files import write_kv  # noqa: E402
from loma_reference.safetensors_np import write_streaming  # noqa: E402


def bench_config(vocab: int, layers: int) -> dict:
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_act": "silu",
        "hidden_size": 2048,
        "intermediate_size": 8192,
        "num_hidden_layers": layers,
        "num_attention_heads": 32,
        "num_key_value_heads": 8,
        "head_dim": 64,
        "vocab_size": vocab,
        "max_position_embeddings": 131072,
        "rms_norm_eps": 1e-5,
        "rope_theta": 500000.0,
        "rope_scaling": {
            "rope_type": "llama3",
            "factor": 32.0,
            "low_freq_factor": 1.0,
            "high_freq_factor": 4.0,
            "original_max_position_embeddings": 8192,
        },
        "tie_word_embeddings": True,
        "attention_bias": False,
        "torch_dtype": "bfloat16",
        "loma": {
            "segment_length": 64,
            "compression_ratio": 4,
            "memory_token_ids": list(range(vocab - 16, vocab)),
        },
    }


def tensor_layout(config: dict) -> dict[str, tuple[str, tuple[int, ...]]]:
    hidden, inter = config["hidden_size"], config["intermediate_size"]
    q_out = config["num_attention_heads"] * config["head_dim"]
    kv_out = config["num_key_value_heads"] * config["head_dim"]
    layout = {"model.embed_tokens.weight": ("BF16", (config["vocab_size"], hidden))}
    for index in range(config["num_hidden_layers"]):
        p = f"model.layers.{index}"
        layout.update(
            {
                f"{p}.input_layernorm.weight": ("BF16", (hidden,)),
                f"{p}.self_attn.q_proj.weight": ("BF16", (q_out, hidden)),
                f"{p}.self_attn.k_proj.weight": ("BF16", (kv_out, hidden)),
                f"{p}.self_attn.v_proj.weight": ("BF16", (kv_out, hidden)),
                f"{p}.self_attn.o_proj.weight": ("BF16", (hidden, q_out)),
                f"{p}.post_attention_layernorm.weight": ("BF16", (hidden,)),
                f"{p}.mlp.gate_proj.weight": ("BF16", (inter, hidden)),
                f"{p}.mlp.up_proj.weight": ("BF16", (inter, hidden)),
                f"{p}.mlp.down_proj.weight": ("BF16", (hidden, inter)),
            }
        )
    layout["model.norm.weight"] = ("BF16", (hidden,))
    return layout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("directory")
    parser.add_argument("--vocab", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--kv-segments", type=int, default=1, help="segments in kv_input.safetensors")
    parser.add_argument("--kv-context", type=int, default=0, help="tokens in kv_context.safetensors (0: none)")
    parser.add_argument("--kv-only", action="store_true", help="write only the KV files for an existing model")
    arguments = parser.parse_args()
    if arguments.vocab < 16:
        parser.error("--vocab must be at least 16 (the memory token ids are the last 16 ids)")
    config = bench_config(arguments.vocab, arguments.layers)
    os.makedirs(arguments.directory, exist_ok=True)
    rng = np.random.default_rng(arguments.seed)
    if not arguments.kv_only:
        with open(os.path.join(arguments.directory, "config.json"), "w", encoding="utf-8") as handle:
            json.dump(config, handle, indent=2)
            handle.write("\n")
        layout = tensor_layout(config)

        def produce(name: str) -> np.ndarray:
            _, shape = layout[name]
            if name.endswith("norm.weight"):
                return 1.0 + 0.1 * rng.standard_normal(shape, dtype=np.float32)
            values = rng.standard_normal(shape, dtype=np.float32)
            if len(shape) == 2 and name != "model.embed_tokens.weight":
                values *= np.float32(1.0 / np.sqrt(shape[1]))  # keeps activations O(1)
            return values

        write_streaming(os.path.join(arguments.directory, "model.safetensors"), layout, produce, {"format": "pt"})
    kv_shape = (config["num_hidden_layers"], config["num_key_value_heads"], 0, config["head_dim"])

    def write_random_kv(file_name: str, tokens: int) -> None:
        shape = (kv_shape[0], kv_shape[1], tokens, kv_shape[3])
        keys = rng.standard_normal(shape, dtype=np.float32)
        values = rng.standard_normal(shape, dtype=np.float32)
        write_kv(os.path.join(arguments.directory, file_name), keys, values, dtype="BF16")

    write_random_kv("kv_input.safetensors", arguments.kv_segments * config["loma"]["segment_length"])
    if arguments.kv_context > 0:
        write_random_kv("kv_context.safetensors", arguments.kv_context)
    print(f"wrote {arguments.directory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
