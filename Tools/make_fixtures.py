#!/usr/bin/env python3
"""Write the golden fixtures of Tests/LoMAModelTests/Fixtures with fixed seeds.

    python3 Tools/make_fixtures.py [--output Tests/LoMAModelTests/Fixtures]

Tiny random checkpoints cover every config variant the Swift engine must read; each case stores
KV inputs (as the case's dtype and layout) and the float64 reference output rounded to F32. The
expected output is computed from the inputs *as stored*, so f16/bf16 rounding is not an error
source when the engine compares.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from loma_reference.fixture_files import CaseSpec, llama3_rope, seed, write_fixtures, write_json  # noqa: E402
from loma_reference.kv_files import read_kv, write_kv  # noqa: E402
from loma_reference.model import compress  # noqa: E402
from loma_reference.safetensors_np import write_file  # noqa: E402

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUTPUT = os.path.join(REPOSITORY, "Tests", "LoMAModelTests", "Fixtures")
VOCAB = 48
DTYPE_NAMES = {"f32": "F32", "f16": "F16", "bf16": "BF16"}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    config: dict
    weight_dtype: str = "F32"
    shards: int = 1


def _llama(**overrides) -> dict:
    config = {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "hidden_act": "silu",
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "vocab_size": VOCAB,
        "max_position_embeddings": 4096,
        "rms_norm_eps": 1e-5,
        "tie_word_embeddings": False,
        "attention_bias": False,
        "torch_dtype": "float32",
    }
    config.update(overrides)
    return config


MODELS = [
    ModelSpec(
        "llama_gqa",
        _llama(
            rope_theta=10000.0,
            rope_scaling=None,
            loma={"segment_length": 8, "compression_ratio": 2, "memory_token_ids": [40, 41, 42, 43]},
        ),
    ),
    # transformers v5 style: no top-level rope_theta; everything under rope_parameters (llama3
    # RoPE with head_dim 16: see fixture_files.llama3_rope).
    ModelSpec(
        "llama3_v5_bf16",
        {
            **{k: v for k, v in _llama().items() if k != "torch_dtype"},
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "tie_word_embeddings": True,
            "dtype": "bfloat16",
            "transformers_version": "5.0.0",
            "rope_parameters": llama3_rope(),
            "loma": {"segment_length": 16, "compression_ratio": 4, "memory_token_ids": [44, 45, 46, 47]},
        },
        weight_dtype="BF16",
    ),
    # HF Llama's attention_bias puts biases on q/k/v *and* o_proj.
    ModelSpec(
        "llama_linear_mha_bias",
        _llama(
            num_key_value_heads=4,
            attention_bias=True,
            rope_theta=10000.0,
            rope_scaling={"type": "linear", "factor": 4.0},
            loma={"segment_length": 8, "compression_ratio": 4, "memory_token_ids": [46, 47]},
        ),
    ),
    ModelSpec(
        "qwen2_tied",
        {
            "architectures": ["Qwen2ForCausalLM"],
            "model_type": "qwen2",
            "hidden_act": "silu",
            "hidden_size": 32,
            "intermediate_size": 64,
            "num_hidden_layers": 2,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "vocab_size": VOCAB,
            "max_position_embeddings": 4096,
            "max_window_layers": 2,
            "rms_norm_eps": 1e-6,
            "rope_theta": 1000000.0,
            "rope_scaling": None,
            "sliding_window": 4096,
            "use_sliding_window": False,
            "tie_word_embeddings": True,
            "torch_dtype": "float32",
            "loma": {"segment_length": 16, "compression_ratio": 4, "memory_token_ids": [47]},
        },
    ),
    ModelSpec(
        "llama_head_dim",
        _llama(
            head_dim=16,
            rope_theta=10000.0,
            loma={"segment_length": 8, "compression_ratio": 2, "memory_token_ids": [40, 41, 42, 43]},
        ),
    ),
    # v4 style llama3 scaling under rope_scaling/rope_type, split over two shards.
    ModelSpec(
        "llama_sharded",
        _llama(
            num_hidden_layers=3,
            num_key_value_heads=1,
            rope_theta=500000.0,
            rope_scaling={
                "rope_type": "llama3",
                "factor": 32.0,
                "low_freq_factor": 1.0,
                "high_freq_factor": 4.0,
                "original_max_position_embeddings": 64,
            },
            loma={"segment_length": 8, "compression_ratio": 4, "memory_token_ids": [38, 39]},
        ),
        shards=2,
    ),
]


CASES = [
    CaseSpec("llama_gqa_single", "llama_gqa", 0, 1, description="one segment at position 0, no context, GQA 4/2"),
    CaseSpec(
        "llama_gqa_f16_context_3seg", "llama_gqa", 42, 3, "f16", context_tokens=6,
        description="three segments from position 42 after 6 context tokens; f16 input",
    ),
    CaseSpec(
        "llama3_v5_bf16_tokens_major", "llama3_v5_bf16", 1000, 1, "bf16", "tokens_major", context_tokens=5,
        description="llama3 rope (v5 rope_parameters), bf16 weights and input, tokens-major input, position 1000",
    ),
    CaseSpec(
        "llama3_v5_bf16_3seg", "llama3_v5_bf16", 2048, 3,
        description="llama3 rope, three segments from position 2048, f32 input, no context",
    ),
    CaseSpec(
        "llama_linear_mha_bias_3seg", "llama_linear_mha_bias", 16, 3,
        description="linear rope scaling (v4 'type' key), MHA, q/k/v/o biases; three segments from 16",
    ),
    CaseSpec(
        "qwen2_tied_f16_context", "qwen2_tied", 8, 1, "f16", "tokens_major", context_tokens=4,
        description="Qwen2 biases, tied embeddings, one repeated memory token id; tokens-major f16 input",
    ),
    CaseSpec(
        "llama_head_dim_context", "llama_head_dim", 5, 1, context_tokens=3,
        description="explicit head_dim 16 with hidden 32 / 4 heads; 3 context tokens",
    ),
    CaseSpec(
        "llama_sharded_bf16_3seg", "llama_sharded", 100, 3, "bf16", context_tokens=2,
        description="two-shard checkpoint with index, 3 layers, GQA 4/1, v4 llama3 rope_scaling; bf16 input",
    ),
    CaseSpec(
        "mean_pool_f16_3seg", "llama_gqa", 7, 3, "f16", method="mean_pool",
        description="mean_pool baseline: mean of each group of `ratio` tokens, position of the group's last token",
    ),
    CaseSpec(
        "strided_bf16_tokens_major", "qwen2_tied", 3, 2, "bf16", "tokens_major", method="strided",
        description="strided baseline: the last token (index ratio-1) of each group, tokens-major bf16 input",
    ),
]


def _model_tensors(spec: ModelSpec) -> dict[str, np.ndarray]:
    """HF-named random weights, scaled so activations stay O(1) and softmax is not saturated."""
    rng = np.random.default_rng(seed(spec.name))
    c = spec.config
    hidden, inter = c["hidden_size"], c["intermediate_size"]
    heads, kv_heads = c["num_attention_heads"], c.get("num_key_value_heads", c["num_attention_heads"])
    head_dim = c.get("head_dim") or hidden // heads
    qwen = c["model_type"] == "qwen2"
    qkv_bias = qwen or c.get("attention_bias", False)
    o_bias = not qwen and c.get("attention_bias", False)

    def linear(prefix: str, out_features: int, in_features: int, bias: bool) -> dict[str, np.ndarray]:
        tensors = {f"{prefix}.weight": rng.standard_normal((out_features, in_features)) / np.sqrt(in_features)}
        if bias:
            tensors[f"{prefix}.bias"] = 0.1 * rng.standard_normal(out_features)
        return tensors

    def norm() -> np.ndarray:
        return 1.0 + 0.1 * rng.standard_normal(hidden)

    tensors = {"model.embed_tokens.weight": rng.standard_normal((c["vocab_size"], hidden))}
    for index in range(c["num_hidden_layers"]):
        p = f"model.layers.{index}"
        tensors[f"{p}.input_layernorm.weight"] = norm()
        tensors.update(linear(f"{p}.self_attn.q_proj", heads * head_dim, hidden, qkv_bias))
        tensors.update(linear(f"{p}.self_attn.k_proj", kv_heads * head_dim, hidden, qkv_bias))
        tensors.update(linear(f"{p}.self_attn.v_proj", kv_heads * head_dim, hidden, qkv_bias))
        tensors.update(linear(f"{p}.self_attn.o_proj", hidden, heads * head_dim, o_bias))
        tensors[f"{p}.post_attention_layernorm.weight"] = norm()
        tensors.update(linear(f"{p}.mlp.gate_proj", inter, hidden, False))
        tensors.update(linear(f"{p}.mlp.up_proj", inter, hidden, False))
        tensors.update(linear(f"{p}.mlp.down_proj", hidden, inter, False))
    tensors["model.norm.weight"] = norm()
    if not c.get("tie_word_embeddings", False):
        tensors["lm_head.weight"] = rng.standard_normal((c["vocab_size"], hidden)) / np.sqrt(hidden)
    return tensors


def write_model(spec: ModelSpec, models_dir: str) -> str:
    directory = os.path.join(models_dir, spec.name)
    os.makedirs(directory)
    write_json(os.path.join(directory, "config.json"), spec.config)
    tensors = {name: (spec.weight_dtype, values) for name, values in _model_tensors(spec).items()}
    metadata = {"format": "pt"}
    if spec.shards == 1:
        write_file(os.path.join(directory, "model.safetensors"), tensors, metadata)
        return directory
    names = list(tensors)
    per_shard = -(-len(names) // spec.shards)
    weight_map = {}
    total = 0
    for shard in range(spec.shards):
        file_name = f"model-{shard + 1:05d}-of-{spec.shards:05d}.safetensors"
        part = {name: tensors[name] for name in names[shard * per_shard : (shard + 1) * per_shard]}
        write_file(os.path.join(directory, file_name), part, metadata)
        weight_map.update({name: file_name for name in part})
        total += sum(np.asarray(v).size * (2 if spec.weight_dtype == "BF16" else 4) for _, v in part.values())
    write_json(os.path.join(directory, "model.safetensors.index.json"),
               {"metadata": {"total_size": total}, "weight_map": weight_map})
    return directory


def write_case(spec: CaseSpec, model: ModelSpec, models_dir: str, cases_dir: str) -> None:
    directory = os.path.join(cases_dir, spec.name)
    os.makedirs(directory)
    rng = np.random.default_rng(seed(spec.name))
    c = model.config
    layers = c["num_hidden_layers"]
    kv_heads = c.get("num_key_value_heads", c["num_attention_heads"])
    head_dim = c.get("head_dim") or c["hidden_size"] // c["num_attention_heads"]
    tokens = spec.segments * c["loma"]["segment_length"]
    dtype = DTYPE_NAMES[spec.input_dtype]

    def kv(count: int) -> tuple[np.ndarray, np.ndarray]:
        shape = (layers, kv_heads, count, head_dim)
        return rng.standard_normal(shape), rng.standard_normal(shape)

    input_path = os.path.join(directory, "input.safetensors")
    write_kv(input_path, *kv(tokens), dtype=dtype, layout=spec.layout)
    keys, values, _ = read_kv(input_path, spec.layout)  # as stored, widened exactly
    context_keys = context_values = None
    if spec.context_tokens:
        context_path = os.path.join(directory, "context.safetensors")
        write_kv(context_path, *kv(spec.context_tokens), dtype=dtype)
        context_keys, context_values, _ = read_kv(context_path)
    model_dir = os.path.join(models_dir, spec.model)
    _, memory = compress(model_dir, keys, values, spec.position, spec.method, context_keys, context_values)
    write_kv(
        os.path.join(directory, "expected.safetensors"),
        memory.keys,
        memory.values,
        dtype="F32",
        positions=memory.positions,
    )
    spec.write_case_json(directory)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default=DEFAULT_OUTPUT)
    arguments = parser.parse_args()
    write_fixtures(arguments.output, MODELS, CASES, write_model, write_case)
    print(f"wrote {len(MODELS)} models and {len(CASES)} cases under {arguments.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
