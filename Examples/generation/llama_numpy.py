"""A Llama / Qwen2 forward pass in numpy (float64), for generating text with a KV cache.

The configuration, the decoder weights and the RoPE / norm helpers come from the numpy reference
in Tools/loma_reference (imported, not copied); this module adds what generation needs on top:
causal attention over a cache, the final norm and the LM head.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from Tools.loma_reference.config import ModelConfig, inverse_frequencies, load_config  # noqa: E402
from Tools.loma_reference.memory_pass import apply_rope, rms_norm, rope_tables, silu, softmax  # noqa: E402
from Tools.loma_reference.safetensors_np import read_file  # noqa: E402
from Tools.loma_reference.weights import DecoderLayerWeights, load_weights  # noqa: E402


def read_checkpoint_tensor(model_dir: Path, name: str) -> np.ndarray | None:
    """One tensor of a single-file or sharded checkpoint as float64, or None when absent."""
    index = model_dir / "model.safetensors.index.json"
    if index.exists():
        shard = json.loads(index.read_text()).get("weight_map", {}).get(name)
        path = model_dir / shard if shard else None
    else:
        path = model_dir / "model.safetensors"
    if path is None:
        return None
    tensors = read_file(path)
    return tensors[name].as_float64() if name in tensors else None


@dataclass
class KV:
    """Keys and values `[layers, kv_heads, tokens, head_dim]` (keys rotated at their positions)."""

    keys: np.ndarray
    values: np.ndarray

    @classmethod
    def empty(cls, config: ModelConfig) -> "KV":
        shape = (config.num_hidden_layers, config.num_key_value_heads, 0, config.head_dim)
        return cls(np.zeros(shape), np.zeros(shape))

    @property
    def tokens(self) -> int:
        return self.keys.shape[2]

    def __add__(self, other: "KV") -> "KV":
        return KV(np.concatenate((self.keys, other.keys), axis=2), np.concatenate((self.values, other.values), axis=2))

    def slice(self, start: int, stop: int | None = None) -> "KV":
        return KV(self.keys[:, :, start:stop], self.values[:, :, start:stop])


class Attention:
    """GQA self-attention of new tokens over the cache (all of it visible) and, causally, themselves."""

    def __init__(self, config: ModelConfig, weights: DecoderLayerWeights, inv_freq: np.ndarray):
        self.config, self.weights, self.inv_freq = config, weights, inv_freq

    def __call__(self, x: np.ndarray, positions: np.ndarray, cached_keys: np.ndarray, cached_values: np.ndarray):
        """x `[n, hidden]` -> (output `[n, hidden]`, new keys, new values `[kv_heads, n, head_dim]`)."""
        c, n = self.config, x.shape[0]
        cos, sin = rope_tables(positions, self.inv_freq, np.float64)
        q = apply_rope(self.weights.q_proj(x).reshape(n, c.num_attention_heads, c.head_dim).transpose(1, 0, 2), cos, sin)
        k = apply_rope(self.weights.k_proj(x).reshape(n, c.num_key_value_heads, c.head_dim).transpose(1, 0, 2), cos, sin)
        v = self.weights.v_proj(x).reshape(n, c.num_key_value_heads, c.head_dim).transpose(1, 0, 2)
        keys = np.concatenate((cached_keys, k), axis=1)
        values = np.concatenate((cached_values, v), axis=1)
        groups = c.query_groups
        keys, values = np.repeat(keys, groups, axis=0), np.repeat(values, groups, axis=0)
        scores = q @ keys.transpose(0, 2, 1) / np.sqrt(c.head_dim)
        cached = cached_keys.shape[1]
        future = np.triu(np.ones((n, n), dtype=bool), k=1)  # new token i must not see new token j > i
        scores[:, :, cached:][:, future] = -np.inf
        output = (softmax(scores) @ values).transpose(1, 0, 2).reshape(n, c.num_attention_heads * c.head_dim)
        return self.weights.o_proj(output), k, v


class MLP:
    def __init__(self, weights: DecoderLayerWeights):
        self.weights = weights

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.weights.down_proj(silu(self.weights.gate_proj(x)) * self.weights.up_proj(x))


class DecoderLayer:
    def __init__(self, config: ModelConfig, weights: DecoderLayerWeights, inv_freq: np.ndarray):
        self.config, self.weights = config, weights
        self.attention = Attention(config, weights, inv_freq)
        self.mlp = MLP(weights)

    def __call__(self, x, positions, cached_keys, cached_values):
        eps = self.config.rms_norm_eps
        attended, k, v = self.attention(rms_norm(x, self.weights.input_layernorm, eps), positions, cached_keys, cached_values)
        x = x + attended
        return x + self.mlp(rms_norm(x, self.weights.post_attention_layernorm, eps)), k, v


class LlamaModel:
    """`forward(ids, positions, cache)` -> logits of every new token and their KV."""

    def __init__(self, model_dir: str | os.PathLike):
        self.directory = Path(model_dir)
        self.config = load_config(self.directory)
        weights = load_weights(self.directory, self.config, np.float64)
        inv_freq = inverse_frequencies(self.config.rope, self.config.head_dim)
        self.embed_tokens = weights.embed_tokens
        self.layers = [DecoderLayer(self.config, layer, inv_freq) for layer in weights.layers]
        self.norm = read_checkpoint_tensor(self.directory, "model.norm.weight")
        if self.norm is None:
            raise ValueError(f"{self.directory}: checkpoint has no model.norm.weight")
        lm_head = None if self.config.tie_word_embeddings else read_checkpoint_tensor(self.directory, "lm_head.weight")
        self.lm_head = self.embed_tokens if lm_head is None else lm_head

    def forward(self, token_ids: np.ndarray, positions: np.ndarray, cache: KV) -> tuple[np.ndarray, KV]:
        x = self.embed_tokens[np.asarray(token_ids)]
        new_keys, new_values = [], []
        for index, layer in enumerate(self.layers):
            x, k, v = layer(x, np.asarray(positions), cache.keys[index], cache.values[index])
            new_keys.append(k)
            new_values.append(v)
        logits = rms_norm(x, self.norm, self.config.rms_norm_eps) @ self.lm_head.T
        return logits, KV(np.stack(new_keys), np.stack(new_values))
