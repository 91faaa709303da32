"""torch CPU timing of the memory pass, the third column of the engine benchmark.

    PYTHON Benchmarks/engine/torch_pass.py --model DIR [--tokens 16,64,256] [--repeat 3] [--threads 2]

PYTHON is any interpreter with torch, numpy and safetensors (an optional dependency of the
benchmark only: `Benchmarks/engine/run.sh --torch-python PYTHON`). The work is the engine's:
each batch of m memory tokens is m/t one-segment jobs stacked into the same projections, every
layer's RMSNorm, fused q/k/v, RoPE, attention of the memory queries over the segment's keys and
values plus the memory's own (no mask), o_proj and the SwiGLU MLP; the last layer stops after its
keys and values. Weights are held in f32 (torch's CPU default and its fastest CPU matmul), with
`torch.set_num_threads(--threads)`. The weight values and the KV are random: timing only. Prints
one JSON object; also times torch's own f32 matmul 2048^3 (its BLAS) in the same rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import time

import torch
from safetensors.torch import load_file


def load_weights(directory: str) -> dict[str, torch.Tensor]:
    index = os.path.join(directory, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["model.safetensors"]
    tensors: dict[str, torch.Tensor] = {}
    for name in files:
        tensors.update(load_file(os.path.join(directory, name)))
    return tensors


class TorchPass:
    def __init__(self, directory: str):
        config = json.load(open(os.path.join(directory, "config.json")))
        self.hidden = config["hidden_size"]
        self.heads = config["num_attention_heads"]
        self.kv_heads = config.get("num_key_value_heads", self.heads)
        self.head_dim = config.get("head_dim") or self.hidden // self.heads
        self.eps = config.get("rms_norm_eps", 1e-6)
        self.theta = config.get("rope_theta", 10000.0)
        loma = config["loma"]
        self.segment = loma["segment_length"]
        self.t = self.segment // loma["compression_ratio"]
        ids = loma["memory_token_ids"]
        ids = ids * self.t if len(ids) == 1 else ids
        raw = load_weights(directory)
        f32 = lambda name: raw[name].to(torch.float32).contiguous()  # noqa: E731
        self.embeddings = raw["model.embed_tokens.weight"][torch.tensor(ids)].to(torch.float32)
        self.layers = []
        count = config["num_hidden_layers"]
        for index in range(count):
            p = f"model.layers.{index}"
            last = index == count - 1
            parts = ([] if last else ["q_proj"]) + ["k_proj", "v_proj"]
            layer = {
                "norm": f32(f"{p}.input_layernorm.weight"),
                "qkv": torch.cat([f32(f"{p}.self_attn.{part}.weight") for part in parts]),
                "last": last,
            }
            if not last:
                layer["o"] = f32(f"{p}.self_attn.o_proj.weight")
                layer["post_norm"] = f32(f"{p}.post_attention_layernorm.weight")
                layer["gate_up"] = torch.cat([f32(f"{p}.mlp.gate_proj.weight"), f32(f"{p}.mlp.up_proj.weight")])
                layer["down"] = f32(f"{p}.mlp.down_proj.weight")
            self.layers.append(layer)
        del raw
        self.inverse_frequencies = 1.0 / (self.theta ** (torch.arange(0, self.head_dim, 2, dtype=torch.float64) / self.head_dim))

    @property
    def weight_bytes(self) -> int:
        tensors = [self.embeddings] + [w for layer in self.layers for w in layer.values() if isinstance(w, torch.Tensor)]
        return sum(w.numel() * w.element_size() for w in tensors)

    def rms(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * weight

    def rope(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = self.head_dim // 2
        first, second = x[..., :half], x[..., half:]
        return torch.cat([first * cos - second * sin, second * cos + first * sin], dim=-1)

    def run(self, past_keys: torch.Tensor, past_values: torch.Tensor, jobs: int) -> None:
        """One segment step for `jobs` jobs; past_* are [layers, jobs, kv_heads, segment, head_dim]."""
        t, d = self.t, self.head_dim
        positions = torch.arange(t, dtype=torch.float64).repeat(jobs) + self.segment
        angles = positions[:, None] * self.inverse_frequencies[None, :]
        cos, sin = angles.cos().to(torch.float32)[:, None, :], angles.sin().to(torch.float32)[:, None, :]
        h = self.embeddings.repeat(jobs, 1)
        for index, layer in enumerate(self.layers):
            qkv = torch.nn.functional.linear(self.rms(h, layer["norm"]), layer["qkv"])
            q_width = 0 if layer["last"] else self.heads * d
            kv_width = self.kv_heads * d
            k = self.rope(qkv[:, q_width:q_width + kv_width].reshape(-1, self.kv_heads, d), cos, sin)
            v = qkv[:, q_width + kv_width:].reshape(-1, self.kv_heads, d)
            if layer["last"]:
                break
            q = self.rope(qkv[:, :q_width].reshape(-1, self.heads, d), cos, sin)
            q = q.reshape(jobs, t, self.heads, d).transpose(1, 2)
            keys = torch.cat([past_keys[index], k.reshape(jobs, t, self.kv_heads, d).transpose(1, 2)], dim=2)
            values = torch.cat([past_values[index], v.reshape(jobs, t, self.kv_heads, d).transpose(1, 2)], dim=2)
            attended = torch.nn.functional.scaled_dot_product_attention(q, keys, values, enable_gqa=True)
            h = h + torch.nn.functional.linear(attended.transpose(1, 2).reshape(jobs * t, -1), layer["o"])
            gate, up = torch.nn.functional.linear(self.rms(h, layer["post_norm"]), layer["gate_up"]).chunk(2, dim=-1)
            h = h + torch.nn.functional.linear(torch.nn.functional.silu(gate) * up, layer["down"])


def seconds(run) -> float:
    begin = time.perf_counter()
    run()
    return time.perf_counter() - begin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--tokens", default="16,64,256")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    arguments = parser.parse_args()
    torch.set_num_threads(arguments.threads)
    with torch.inference_mode():
        model = TorchPass(arguments.model)
        sizes = [int(s) for s in arguments.tokens.split(",") if s.strip()]
        generator = torch.Generator().manual_seed(0)
        inputs = {}
        for size in sizes:
            jobs = size // model.t
            shape = (len(model.layers), jobs, model.kv_heads, model.segment, model.head_dim)
            inputs[size] = (torch.randn(shape, generator=generator), torch.randn(shape, generator=generator), jobs)
        a, b = torch.randn(2048, 2048, generator=generator), torch.randn(2048, 2048, generator=generator)
        torch.mm(a, b)
        for size in sizes:
            model.run(*inputs[size])  # warm-up
        best: dict[str, float] = {}
        for _ in range(max(1, arguments.repeat)):
            best["sgemm"] = min(best.get("sgemm", float("inf")), seconds(lambda: torch.mm(a, b)))
            for size in sizes:
                best[str(size)] = min(best.get(str(size), float("inf")), seconds(lambda: model.run(*inputs[size])))
        print(json.dumps({
            "torch": torch.__version__, "threads": torch.get_num_threads(), "weight_bytes": model.weight_bytes,
            "sgemm_2048_gflops": 2 * 2048**3 / best["sgemm"] / 1e9,
            "results": [{"memory_tokens": size, "seconds": best[str(size)]} for size in sizes],
        }, indent=2))


if __name__ == "__main__":
    main()
