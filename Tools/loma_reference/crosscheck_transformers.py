"""Cross-check the committed fixtures against transformers itself (optional; needs torch and
transformers, which nothing in CI installs):

    python3 -m Tools.loma_reference.crosscheck_transformers [--fixtures Tests/LoMAModelTests/Fixtures]

For every `loma` case the fixture's checkpoint is loaded with `AutoModelForCausalLM` in float64
(eager attention), the attended KV (context, memory of earlier segments, the segment) is put in
a `DynamicCache`, and the memory token ids run forward at their positions with an all-visible
4-D attention mask. The keys/values the model appends to its cache are the memory KV; they are
compared with expected.safetensors. Segments chain through transformers' own outputs.

transformers forms RoPE angles in float32 (`inv_freq.float() @ position_ids.float()`), which at
positions in the thousands is off by ~1e-4 rad. The check runs twice: once with the rotary
module's angles recomputed in float64 (everything else, rotate-half included, is transformers'),
which must agree to ~1e-7 (the F32 rounding of the expected file), and once unmodified, whose
error is printed to show what float32 angles cost. transformers' own inv_freq (rope init
functions for default / linear / llama3) is compared with the reference's separately.
"""

from __future__ import annotations

import argparse
import json
import os
import sys

import numpy as np

from .config import inverse_frequencies, load_config
from .kv_files import read_kv
from .safetensors_np import read_file


def patch_rotary_float64(model, torch, inv_freq: np.ndarray) -> None:
    rotary = model.model.rotary_emb
    table = torch.tensor(inv_freq, dtype=torch.float64)

    def forward(x, position_ids):
        angles = position_ids.to(torch.float64)[..., None] * table
        embedded = torch.cat((angles, angles), dim=-1)
        scaling = getattr(rotary, "attention_scaling", 1.0)
        return (embedded.cos() * scaling).to(x.dtype), (embedded.sin() * scaling).to(x.dtype)

    rotary.forward = forward


def cache_layer(cache, index: int):
    """(keys, values) of one layer of a `DynamicCache` (transformers 5 `layers`, 4.x `key_cache`)."""
    if hasattr(cache, "layers"):
        return cache.layers[index].keys, cache.layers[index].values
    return cache.key_cache[index], cache.value_cache[index]


def transformers_block(model, config, keys, values, position, held_k, held_v, torch, transformers):
    """The memory KV of `keys`/`values` (heads-major, whole segments, float64 numpy) computed by
    transformers' own forward: per segment, the attended KV (context, memory of earlier segments,
    the segment) goes into a `DynamicCache` and the memory token ids run at their positions with an
    all-visible 4-D mask; the keys/values appended to the cache are the memory. Returns
    (keys, values) `[layers, kv_heads, segments * t, head_dim]`."""
    if held_k is None:
        held_k = np.zeros((keys.shape[0], keys.shape[1], 0, keys.shape[3]))
        held_v = held_k
    seg, t = config.loma.segment_length, config.loma.memory_tokens
    ratio = config.loma.compression_ratio
    outputs = []
    for s in range(keys.shape[2] // seg):
        window = slice(s * seg, (s + 1) * seg)
        attended_k = np.concatenate((held_k, keys[:, :, window]), axis=2)
        attended_v = np.concatenate((held_v, values[:, :, window]), axis=2)
        cache = transformers.DynamicCache()
        for layer in range(config.num_hidden_layers):
            cache.update(
                torch.tensor(attended_k[layer][None]), torch.tensor(attended_v[layer][None]), layer
            )
        start = position + s * seg
        positions = torch.tensor([[start + (j + 1) * ratio - 1 for j in range(t)]])
        mask = torch.zeros((1, 1, t, attended_k.shape[2] + t), dtype=torch.float64)  # all visible
        with torch.no_grad():
            model.model(
                input_ids=torch.tensor([list(config.loma.memory_token_ids)]),
                position_ids=positions,
                attention_mask=mask,
                past_key_values=cache,
                use_cache=True,
            )
        layer_k = np.stack([cache_layer(cache, i)[0][0, :, -t:].numpy() for i in range(config.num_hidden_layers)])
        layer_v = np.stack([cache_layer(cache, i)[1][0, :, -t:].numpy() for i in range(config.num_hidden_layers)])
        outputs.append((layer_k, layer_v))
        held_k = np.concatenate((held_k, layer_k), axis=2)
        held_v = np.concatenate((held_v, layer_v), axis=2)
    return tuple(np.concatenate([o[index] for o in outputs], axis=2) for index in (0, 1))


def run_case(directory: str, fixtures: str, float64_angles: bool, torch, transformers) -> float:
    with open(os.path.join(directory, "case.json"), encoding="utf-8") as handle:
        case = json.load(handle)
    model_dir = os.path.join(fixtures, "models", case["model"])
    config = load_config(model_dir)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        model_dir, dtype=torch.float64, attn_implementation="eager"
    ).eval()
    if float64_angles:
        patch_rotary_float64(model, torch, inverse_frequencies(config.rope, config.head_dim))
    keys, values, _ = read_kv(os.path.join(directory, "input.safetensors"), case["layout"])
    if case["has_context"]:
        held_k, held_v, _ = read_kv(os.path.join(directory, "context.safetensors"))
    else:
        held_k = held_v = None
    outputs = transformers_block(model, config, keys, values, case["position"], held_k, held_v, torch, transformers)
    expected = read_file(os.path.join(directory, "expected.safetensors"))
    errors = []
    for name, index in (("keys", 0), ("values", 1)):
        ours = expected[name].as_float64()
        theirs = outputs[index]
        errors.append(np.max(np.abs(ours - theirs)) / np.max(np.abs(theirs)))
    return max(errors)


def check_inv_freq(torch, transformers) -> bool:
    from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS

    ok = True
    for name in ("llama3_v5_bf16", "llama_sharded", "llama_linear_mha_bias", "llama_gqa"):
        model_dir = os.path.join(FIXTURES, "models", name)
        hf_config = transformers.AutoConfig.from_pretrained(model_dir)
        ours = inverse_frequencies(load_config(model_dir).rope, load_config(model_dir).head_dim)
        rope_type = load_config(model_dir).rope.rope_type
        theirs, _ = ROPE_INIT_FUNCTIONS[rope_type](hf_config, "cpu") if rope_type != "default" else (None, None)
        if theirs is None:
            rotary = transformers.AutoModelForCausalLM.from_config(hf_config).model.rotary_emb
            theirs = rotary.inv_freq
        error = np.max(np.abs(theirs.double().numpy() / ours - 1))
        print(f"{'ok  ' if error < 1e-6 else 'FAIL'} inv_freq {name} ({rope_type}) vs transformers: rel err {error:.1e}")
        ok &= error < 1e-6
    return ok


FIXTURES = os.path.join("Tests", "LoMAModelTests", "Fixtures")


def main(argv: list[str] | None = None) -> int:
    global FIXTURES
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixtures", default=FIXTURES)
    FIXTURES = parser.parse_args(argv).fixtures
    try:
        import torch
        import transformers
    except ImportError as error:
        print(f"cannot cross-check: {error} (pip install torch transformers)", file=sys.stderr)
        return 2
    print(f"torch {torch.__version__}, transformers {transformers.__version__}")
    ok = check_inv_freq(torch, transformers)
    cases_dir = os.path.join(FIXTURES, "cases")
    for name in sorted(os.listdir(cases_dir)):
        with open(os.path.join(cases_dir, name, "case.json"), encoding="utf-8") as handle:
            if json.load(handle)["method"] != "loma":
                continue
        exact = run_case(os.path.join(cases_dir, name), FIXTURES, True, torch, transformers)
        stock = run_case(os.path.join(cases_dir, name), FIXTURES, False, torch, transformers)
        passed = exact < 1e-6
        ok &= passed
        print(f"{'ok  ' if passed else 'FAIL'} {name}: rel err {exact:.1e} (float64 angles), {stock:.1e} (stock float32 angles)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
