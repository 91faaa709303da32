#!/usr/bin/env python3
"""Write Tests/LoMAModelTests/Fixtures/transformers: memory passes recorded from transformers itself.

    Tools/make_transformers_fixtures.sh            (makes its own venv, then runs this)
    python Tools/make_transformers_fixtures.py [--output DIR]   (torch + transformers already there)

The golden fixtures of `Tools/make_fixtures.py` come from the numpy reference, so a misreading of
a config field shared by the reference and the Swift engine would pass both. These fixtures come
from a different implementation: transformers builds each tiny model (`LlamaForCausalLM` /
`Qwen2ForCausalLM` from its own config class, random weights from a fixed seed, written by
`save_pretrained`), and its own forward pass produces the expected memory KV. The paths covered are
the ones issue 15 names: llama3 and linear RoPE scaling, Llama's attention and MLP biases, and
Qwen2's q/k/v biases (o_proj without one). `Tests/LoMAModelTests/TransformersCrossCheckTests.swift`
runs the Swift engine on the same inputs in CI.

How transformers computes the memory pass (docs/loma-spec.md section 3.2): the attended KV
(context, memory of earlier segments, the segment's raw KV) goes into a `DynamicCache`, and the
memory token ids run forward at positions `P + (j + 1) * ratio - 1` with an all-visible 4-D mask
(memory tokens see each other both ways). The keys and values the model appends to its cache are
the memory KV; segments chain through transformers' own outputs. The model runs in float64 with
eager attention and is not patched: its RoPE angles are float32 (`inv_freq @ position_ids` in
float32), which at the small positions used here costs ~1e-6 relative, well inside the engine's
1e-4. Each case also records transformers' `inv_freq` buffer (its rope init function) in
`transformers.json`, which the Swift test compares with `RoPEConfiguration.inverseFrequencies`.

Output layout is that of the golden fixtures (`models/NAME`, `cases/NAME/{case.json,
input.safetensors, context.safetensors, expected.safetensors}`), so `ModelFixtures` reads both.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from loma_reference.fixture_files import CaseSpec, llama3_rope, seed, write_fixtures, write_json  # noqa: E402
from loma_reference.kv_files import write_kv  # noqa: E402

REPOSITORY = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_OUTPUT = os.path.join(REPOSITORY, "Tests", "LoMAModelTests", "Fixtures", "transformers")
VOCAB = 48


@dataclass(frozen=True)
class ModelSpec:
    """One tiny checkpoint: the transformers config class, its arguments and the `loma` table."""

    name: str
    architecture: str  # "llama" | "qwen2"
    config: dict[str, Any]
    loma: dict[str, Any]


_COMMON: dict[str, Any] = {
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "vocab_size": VOCAB,
    "max_position_embeddings": 4096,
    "rms_norm_eps": 1e-5,
}

MODELS = [
    # llama3 RoPE with head_dim 16: see fixture_files.llama3_rope.
    ModelSpec(
        "hf_llama3_rope",
        "llama",
        {
            **_COMMON,
            "num_attention_heads": 2,
            "num_key_value_heads": 1,
            "rope_parameters": llama3_rope(),
        },
        {"segment_length": 8, "compression_ratio": 2, "memory_token_ids": [44, 45, 46, 47]},
    ),
    # Llama's attention_bias puts biases on q/k/v and o_proj; mlp_bias on gate/up/down.
    ModelSpec(
        "hf_llama_linear_bias",
        "llama",
        {
            **_COMMON,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "attention_bias": True,
            "mlp_bias": True,
            "rope_parameters": {"rope_type": "linear", "rope_theta": 10000.0, "factor": 4.0},
        },
        {"segment_length": 8, "compression_ratio": 4, "memory_token_ids": [46, 47]},
    ),
    # Qwen2: biases on q/k/v only, whatever attention_bias says; tied embeddings.
    ModelSpec(
        "hf_qwen2_bias",
        "qwen2",
        {
            **_COMMON,
            "num_attention_heads": 4,
            "num_key_value_heads": 2,
            "rms_norm_eps": 1e-6,
            "tie_word_embeddings": True,
            "use_sliding_window": False,
            "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0},
        },
        {"segment_length": 8, "compression_ratio": 2, "memory_token_ids": [47]},
    ),
]

CASES = [
    CaseSpec("hf_llama3_rope_context_2seg", "hf_llama3_rope", 12, 2, context_tokens=3,
             description="llama3 RoPE (transformers' rope init), GQA 2/1; 3 context tokens, two segments from 12"),
    CaseSpec("hf_llama_linear_bias_2seg", "hf_llama_linear_bias", 4, 2, context_tokens=0,
             description="linear RoPE, q/k/v/o and MLP biases, GQA 4/2; two segments from 4"),
    CaseSpec("hf_qwen2_bias_context", "hf_qwen2_bias", 6, 1, context_tokens=2,
             description="Qwen2 q/k/v biases, tied embeddings, one repeated memory token id; 2 context tokens"),
]


def build_model(spec: ModelSpec, torch: Any, transformers: Any) -> Any:
    """The transformers model with every parameter random (biases and norms included: transformers
    initialises biases to zero and norms to one, which would leave those paths untested)."""
    config_class = transformers.LlamaConfig if spec.architecture == "llama" else transformers.Qwen2Config
    config = config_class(**spec.config)
    model_class = transformers.LlamaForCausalLM if spec.architecture == "llama" else transformers.Qwen2ForCausalLM
    torch.manual_seed(seed(spec.name))
    model = model_class(config).to(torch.float32)
    generator = torch.Generator().manual_seed(seed(spec.name))
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            noise = torch.randn(parameter.shape, generator=generator, dtype=torch.float32)
            if name.endswith("norm.weight"):
                parameter.copy_(1.0 + 0.1 * noise)
            elif name.endswith(".bias"):
                parameter.copy_(0.1 * noise)
            elif parameter.dim() == 2 and "embed_tokens" not in name:
                parameter.copy_(noise / parameter.shape[1] ** 0.5)
            else:
                parameter.copy_(noise)
    return model.eval()


def write_model(spec: ModelSpec, models_dir: str, torch: Any, transformers: Any) -> str:
    """Saves the checkpoint as transformers writes it, then adds the `loma` table to config.json."""
    directory = os.path.join(models_dir, spec.name)
    build_model(spec, torch, transformers).save_pretrained(directory, safe_serialization=True)
    config_path = os.path.join(directory, "config.json")
    with open(config_path, encoding="utf-8") as handle:
        config = json.load(handle)
    config["loma"] = spec.loma
    write_json(config_path, config)
    for extra in ("generation_config.json",):
        path = os.path.join(directory, extra)
        if os.path.exists(path):
            os.remove(path)
    return directory


def _cache_layer(cache: Any, index: int) -> tuple[Any, Any]:
    if hasattr(cache, "layers"):
        return cache.layers[index].keys, cache.layers[index].values
    return cache.key_cache[index], cache.value_cache[index]


def memory_pass(model: Any, spec: ModelSpec, case: CaseSpec, keys: np.ndarray, values: np.ndarray,
                context: tuple[np.ndarray, np.ndarray], torch: Any, transformers: Any
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The memory KV and positions of every segment, computed by the transformers model."""
    segment, ratio = spec.loma["segment_length"], spec.loma["compression_ratio"]
    t = segment // ratio
    ids = spec.loma["memory_token_ids"] * (t if len(spec.loma["memory_token_ids"]) == 1 else 1)
    layers = spec.config["num_hidden_layers"]
    held_k, held_v = context
    memory_k, memory_v, positions = [], [], []
    for s in range(case.segments):
        window = slice(s * segment, (s + 1) * segment)
        attended_k = np.concatenate((held_k, keys[:, :, window]), axis=2)
        attended_v = np.concatenate((held_v, values[:, :, window]), axis=2)
        cache = transformers.DynamicCache()
        for layer in range(layers):
            cache.update(torch.tensor(attended_k[layer][None]), torch.tensor(attended_v[layer][None]), layer)
        start = case.position + s * segment
        segment_positions = [start + (j + 1) * ratio - 1 for j in range(t)]
        mask = torch.zeros((1, 1, t, attended_k.shape[2] + t), dtype=torch.float64)  # all visible
        with torch.no_grad():
            model.model(
                input_ids=torch.tensor([ids]),
                position_ids=torch.tensor([segment_positions]),
                attention_mask=mask,
                past_key_values=cache,
                use_cache=True,
            )
        layer_k = np.stack([_cache_layer(cache, i)[0][0, :, -t:].numpy() for i in range(layers)])
        layer_v = np.stack([_cache_layer(cache, i)[1][0, :, -t:].numpy() for i in range(layers)])
        memory_k.append(layer_k)
        memory_v.append(layer_v)
        positions += segment_positions
        held_k = np.concatenate((held_k, layer_k), axis=2)
        held_v = np.concatenate((held_v, layer_v), axis=2)
    return np.concatenate(memory_k, axis=2), np.concatenate(memory_v, axis=2), np.array(positions, dtype=np.int64)


def write_case(case: CaseSpec, spec: ModelSpec, models_dir: str, cases_dir: str, torch: Any, transformers: Any) -> None:
    """Random f32 KV in, transformers' memory KV (rounded to F32) and inv_freq out."""
    directory = os.path.join(cases_dir, case.name)
    os.makedirs(directory)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        os.path.join(models_dir, spec.name), dtype=torch.float64, attn_implementation="eager"
    ).eval()
    config = model.config
    head_dim = getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads
    shape = (config.num_hidden_layers, config.num_key_value_heads)
    rng = np.random.default_rng(seed(case.name))

    def kv(tokens: int) -> tuple[np.ndarray, np.ndarray]:
        # Rounded to float32 first: the file holds F32, and both sides must start from it.
        pair = [rng.standard_normal((*shape, tokens, head_dim)).astype(np.float32).astype(np.float64) for _ in range(2)]
        return pair[0], pair[1]

    keys, values = kv(case.segments * spec.loma["segment_length"])
    write_kv(os.path.join(directory, "input.safetensors"), keys, values, dtype="F32")
    context = kv(case.context_tokens)
    if case.context_tokens:
        write_kv(os.path.join(directory, "context.safetensors"), *context, dtype="F32")
    memory_k, memory_v, positions = memory_pass(model, spec, case, keys, values, context, torch, transformers)
    write_kv(os.path.join(directory, "expected.safetensors"), memory_k, memory_v, dtype="F32", positions=positions)
    case.write_case_json(directory)
    recorded = {
        "transformers_version": transformers.__version__,
        "torch_version": torch.__version__,
        "rope_type": spec.config["rope_parameters"]["rope_type"],
        "inv_freq": [float(x) for x in model.model.rotary_emb.inv_freq.double().tolist()],
    }
    write_json(os.path.join(directory, "transformers.json"), recorded)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--output", default=DEFAULT_OUTPUT)
    arguments = parser.parse_args(argv)
    try:
        import torch
        import transformers
    except ImportError as error:
        print(f"make_transformers_fixtures: {error}; run Tools/make_transformers_fixtures.sh", file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    write_fixtures(arguments.output, MODELS, CASES,
                   lambda spec, models_dir: write_model(spec, models_dir, torch, transformers),
                   lambda case, spec, models_dir, cases_dir: write_case(case, spec, models_dir, cases_dir,
                                                                        torch, transformers))
    print(f"wrote {len(MODELS)} models and {len(CASES)} cases under {arguments.output} "
          f"(torch {torch.__version__}, transformers {transformers.__version__})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
