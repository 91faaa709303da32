"""Checks of the reference against itself and first principles:

    python3 -m Tools.loma_reference.selfcheck [--fixtures Tests/LoMAModelTests/Fixtures]

- RoPE: q.k after rotation depends only on the relative position (for every rope type);
- llama3 inv_freq against the piecewise formula evaluated element by element;
- bf16 rounding (ties to even) and safetensors round trips for every dtype;
- the batched, GQA-stacked memory pass against a naive loop over heads and tokens;
- several segments against segment-by-segment calls, and stacked jobs against single jobs;
- every committed fixture recomputed from its stored input equals its expected file.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile

import numpy as np

from .config import RopeConfig, inverse_frequencies, load_config
from .kv_files import read_kv
from .memory_pass import MemoryPass, apply_rope, memory_positions, rope_tables
from .model import compress, open_model
from .safetensors_np import float32_to_bf16_bits, read_file, write_file

FAILURES: list[str] = []


def check(condition: bool, message: str) -> None:
    print(("ok   " if condition else "FAIL ") + message)
    if not condition:
        FAILURES.append(message)


def check_rope_relative() -> None:
    rng = np.random.default_rng(1)
    head_dim = 16
    q, k = rng.standard_normal(head_dim), rng.standard_normal(head_dim)
    ropes = [
        RopeConfig("default", 10000.0),
        RopeConfig("linear", 10000.0, factor=4.0),
        RopeConfig("llama3", 500000.0, 8.0, 1.0, 4.0, 256),
    ]
    for rope in ropes:
        inv_freq = inverse_frequencies(rope, head_dim)
        scores = []
        for base in (0, 17, 1000, 4093):
            cos, sin = rope_tables(np.array([base + 5, base]), inv_freq, np.float64)
            scores.append(apply_rope(q, cos[0], sin[0]) @ apply_rope(k, cos[1], sin[1]))
        check(np.ptp(scores) < 1e-9, f"RoPE {rope.rope_type}: score depends only on relative position ({np.ptp(scores):.1e})")


def check_llama3_formula() -> None:
    rope = RopeConfig("llama3", 500000.0, 8.0, 1.0, 4.0, 256)
    head_dim = 16
    ours = inverse_frequencies(rope, head_dim)
    expected = []
    kinds = []
    for i in range(head_dim // 2):
        base = 1.0 / (rope.theta ** (2 * i / head_dim))
        wavelen = 2 * math.pi / base
        if wavelen < rope.original_max_position_embeddings / rope.high_freq_factor:
            expected.append(base)
            kinds.append("keep")
        elif wavelen > rope.original_max_position_embeddings / rope.low_freq_factor:
            expected.append(base / rope.factor)
            kinds.append("divide")
        else:
            smooth = (rope.original_max_position_embeddings / wavelen - rope.low_freq_factor) / (
                rope.high_freq_factor - rope.low_freq_factor
            )
            expected.append((1 - smooth) * base / rope.factor + smooth * base)
            kinds.append("smooth")
    check(np.allclose(ours, expected, rtol=1e-15, atol=0), f"llama3 inv_freq matches the formula ({kinds})")
    check({"keep", "divide", "smooth"} <= set(kinds), "llama3 fixture config exercises all three branches")


def check_safetensors() -> None:
    samples = np.array([1.0, 1.0 + 2**-8, 1.0 + 3 * 2**-8, -2.5, 65504.0, 1e-40], dtype=np.float32)
    bits = float32_to_bf16_bits(samples)
    check(list(bits[:4]) == [0x3F80, 0x3F80, 0x3F82, 0xC020], f"bf16 rounds to nearest even ({[hex(b) for b in bits]})")
    rng = np.random.default_rng(2)
    values = rng.standard_normal((2, 3, 4)).astype(np.float32)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "t.safetensors")
        write_file(
            path,
            {"a": ("F32", values), "b": ("F16", values), "c": ("BF16", values), "p": ("I64", np.arange(5))},
            {"note": "x"},
        )
        back = read_file(path)
        check(np.array_equal(back["a"].as_float64(), values), "F32 round trip is exact")
        check(np.array_equal(back["b"].as_float64(), values.astype(np.float16)), "F16 round trip equals numpy's f16 rounding")
        check(np.max(np.abs(back["c"].as_float64() / values - 1)) <= 2**-8, "BF16 round trip within half an ulp")
        check(list(back["p"].data) == list(range(5)) and back["p"].dtype == "I64", "I64 round trip")


def naive_segment(model: MemoryPass, attended_keys: np.ndarray, attended_values: np.ndarray, start: int):
    """One job, loops over heads and tokens; deliberately shares nothing but RoPE/norm helpers."""
    c = model.config
    w = model.weights
    t = c.loma.memory_tokens
    positions = memory_positions(start, c)
    cos, sin = rope_tables(positions, model.inv_freq, np.float64)
    x = np.array([w.embed_tokens[i] for i in c.loma.memory_token_ids])
    keys_out, values_out = [], []
    for index, layer in enumerate(w.layers):
        h = np.stack([layer.input_layernorm * row / math.sqrt(np.mean(row**2) + c.rms_norm_eps) for row in x])

        def proj(linear, inputs):
            out = inputs @ linear.weight.T
            return out + linear.bias if linear.bias is not None else out

        q = proj(layer.q_proj, h).reshape(t, c.num_attention_heads, c.head_dim)
        k = proj(layer.k_proj, h).reshape(t, c.num_key_value_heads, c.head_dim)
        v = proj(layer.v_proj, h).reshape(t, c.num_key_value_heads, c.head_dim)
        for j in range(t):
            for head in range(c.num_attention_heads):
                q[j, head] = apply_rope(q[j, head], cos[j], sin[j])
            for head in range(c.num_key_value_heads):
                k[j, head] = apply_rope(k[j, head], cos[j], sin[j])
        keys_out.append(k.transpose(1, 0, 2))
        values_out.append(v.transpose(1, 0, 2))
        out = np.zeros((t, c.num_attention_heads, c.head_dim))
        for head in range(c.num_attention_heads):
            kv = head // (c.num_attention_heads // c.num_key_value_heads)
            all_k = np.concatenate([attended_keys[index, kv], k[:, kv]])
            all_v = np.concatenate([attended_values[index, kv], v[:, kv]])
            for j in range(t):
                scores = all_k @ q[j, head] / math.sqrt(c.head_dim)
                p = np.exp(scores - scores.max())
                out[j, head] = (p / p.sum()) @ all_v
        x = x + proj(layer.o_proj, out.reshape(t, -1))
        h = np.stack([layer.post_attention_layernorm * row / math.sqrt(np.mean(row**2) + c.rms_norm_eps) for row in x])
        gate = proj(layer.gate_proj, h)
        x = x + proj(layer.down_proj, gate / (1 + np.exp(-gate)) * proj(layer.up_proj, h))
    return np.stack(keys_out), np.stack(values_out), positions


def check_against_naive(models_dir: str) -> None:
    for name in sorted(os.listdir(models_dir)):
        model = open_model(os.path.join(models_dir, name))
        c = model.config
        rng = np.random.default_rng(3)
        shape = (c.num_hidden_layers, c.num_key_value_heads, 5 + c.loma.segment_length, c.head_dim)
        ak, av = rng.standard_normal(shape), rng.standard_normal(shape)
        fast = model.segment(ak[:, None], av[:, None], np.array([123]))
        keys, values, positions = naive_segment(model, ak, av, 123)
        error = max(np.max(np.abs(fast.keys[:, 0] - keys)), np.max(np.abs(fast.values[:, 0] - values)))
        check(error < 1e-12 and np.array_equal(fast.positions[0], positions), f"{name}: batched pass == naive loops ({error:.1e})")

        # Stacked independent jobs equal the jobs run one by one (the benchmark relies on it).
        jobs = 3
        bk = rng.standard_normal((shape[0], jobs, *shape[1:]))
        bv = rng.standard_normal((shape[0], jobs, *shape[1:]))
        starts = np.array([0, 64, 1000])
        stacked = model.segment(bk, bv, starts)
        single = [model.segment(bk[:, i : i + 1], bv[:, i : i + 1], starts[i : i + 1]) for i in range(jobs)]
        error = max(np.max(np.abs(stacked.keys[:, i] - s.keys[:, 0])) for i, s in enumerate(single))
        check(error < 1e-12, f"{name}: {jobs} stacked jobs == jobs one by one ({error:.1e})")

        # Three segments: each attends to the context plus earlier *memory*, never earlier raw KV.
        seg = c.loma.segment_length
        kv_shape = (c.num_hidden_layers, c.num_key_value_heads, 3 * seg, c.head_dim)
        keys3, values3 = rng.standard_normal(kv_shape), rng.standard_normal(kv_shape)
        ck, cv = ak[:, :, :4], av[:, :, :4]
        block = model.block(keys3, values3, 40, ck, cv)
        held_k, held_v, outs = ck, cv, []
        for s in range(3):
            kk, vv, _ = naive_segment(
                model,
                np.concatenate([held_k, keys3[:, :, s * seg : (s + 1) * seg]], axis=2),
                np.concatenate([held_v, values3[:, :, s * seg : (s + 1) * seg]], axis=2),
                40 + s * seg,
            )
            outs.append(kk)
            held_k, held_v = np.concatenate([held_k, kk], axis=2), np.concatenate([held_v, vv], axis=2)
        error = np.max(np.abs(block.keys - np.concatenate(outs, axis=2)))
        check(error < 1e-12, f"{name}: 3-segment block == chained naive segments ({error:.1e})")


def check_fixtures(fixtures: str) -> None:
    cases_dir = os.path.join(fixtures, "cases")
    for name in sorted(os.listdir(cases_dir)):
        directory = os.path.join(cases_dir, name)
        with open(os.path.join(directory, "case.json"), encoding="utf-8") as handle:
            case = json.load(handle)
        keys, values, _ = read_kv(os.path.join(directory, "input.safetensors"), case["layout"])
        ck = cv = None
        if case["has_context"]:
            ck, cv, _ = read_kv(os.path.join(directory, "context.safetensors"))
        model_dir = os.path.join(fixtures, "models", case["model"])
        config, memory = compress(model_dir, keys, values, case["position"], case["method"], ck, cv)
        expected = read_file(os.path.join(directory, "expected.safetensors"))
        t_total = case["segments"] * config.loma.memory_tokens
        shape_ok = expected["keys"].shape == (config.num_hidden_layers, config.num_key_value_heads, t_total, config.head_dim)
        scale = np.max(np.abs(memory.keys))
        error = np.max(np.abs(expected["keys"].as_float64() - memory.keys)) / scale
        positions_ok = list(expected["positions"].data) == list(memory.positions)
        check(shape_ok and positions_ok and error < 1e-6, f"fixture {name}: shape, positions, values reproduce ({error:.1e})")
        if case["method"] == "loma" and case["has_context"]:
            _, without = compress(model_dir, keys, values, case["position"], "loma")
            check(np.max(np.abs(without.keys - memory.keys)) > 1e-3, f"fixture {name}: context changes the result")
        load_config(model_dir)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixtures", default=os.path.join("Tests", "LoMAModelTests", "Fixtures"))
    arguments = parser.parse_args(argv)
    check_rope_relative()
    check_llama3_formula()
    check_safetensors()
    check_against_naive(os.path.join(arguments.fixtures, "models"))
    check_fixtures(arguments.fixtures)
    print(f"{len(FAILURES)} failed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
