"""The LoMA memory pass of docs/loma-spec.md 3.2/3.3, written from the design and transformers'
Llama/Qwen2 conventions (not from the Swift engine).

One batched function serves both the float64 reference (batch of one job) and the float32
benchmark (independent jobs stacked so their memory tokens share every projection matmul).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .config import ModelConfig, inverse_frequencies
from .weights import DecoderLayerWeights, ModelWeights


class InputError(ValueError):
    """KV inputs do not fit the model (layers, heads, head_dim, token count)."""


@dataclass
class MatmulCounter:
    """Floating-point operations of every matmul, counted as 2*m*n*k."""

    flops: int = 0

    def add(self, m: int, n: int, k: int, batch: int = 1) -> None:
        self.flops += 2 * m * n * k * batch


@dataclass(frozen=True)
class MemoryKV:
    """Memory-token keys/values `[layers, jobs, kv_heads, t, head_dim]` and positions `[jobs, t]`."""

    keys: np.ndarray
    values: np.ndarray
    positions: np.ndarray


def memory_positions(start: np.ndarray | int, config: ModelConfig, count: int | None = None) -> np.ndarray:
    """Position of memory token j of a block starting at `start`: start + (j+1)*ratio - 1.

    The same positions label the baselines' outputs (mean of each group, or its last token).
    """
    ratio = config.loma.compression_ratio
    count = config.loma.memory_tokens if count is None else count
    offsets = (np.arange(count, dtype=np.int64) + 1) * ratio - 1
    return np.asarray(start, dtype=np.int64)[..., None] + offsets


def rms_norm(x: np.ndarray, weight: np.ndarray, eps: float) -> np.ndarray:
    variance = np.mean(x * x, axis=-1, keepdims=True)
    return weight * (x / np.sqrt(variance + eps))


def rotate_half(x: np.ndarray) -> np.ndarray:
    half = x.shape[-1] // 2
    return np.concatenate((-x[..., half:], x[..., :half]), axis=-1)


def rope_tables(positions: np.ndarray, inv_freq: np.ndarray, dtype) -> tuple[np.ndarray, np.ndarray]:
    """cos/sin `[..., head_dim]` in HF's layout (frequencies repeated for both halves).

    Angles are formed in float64 whatever `dtype` the pass runs in: at positions in the
    thousands a float32 angle already loses ~1e-4 rad.
    """
    angles = positions.astype(np.float64)[..., None] * inv_freq.astype(np.float64)
    angles = np.concatenate((angles, angles), axis=-1)
    return np.cos(angles).astype(dtype), np.sin(angles).astype(dtype)


def apply_rope(x: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> np.ndarray:
    return x * cos + rotate_half(x) * sin


def silu(x: np.ndarray) -> np.ndarray:
    return x / (1.0 + np.exp(-x))


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def _heads_major(flat: np.ndarray, jobs: int, tokens: int, heads: int, head_dim: int) -> np.ndarray:
    """`[jobs*tokens, heads*head_dim]` -> `[jobs, heads, tokens, head_dim]`."""
    return flat.reshape(jobs, tokens, heads, head_dim).transpose(0, 2, 1, 3)


@dataclass
class MemoryPass:
    """A loaded model ready to compress; `dtype` is the arithmetic precision of the pass."""

    config: ModelConfig
    weights: ModelWeights
    dtype: type = np.float64
    inv_freq: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.inv_freq = inverse_frequencies(self.config.rope, self.config.head_dim)

    def segment(
        self,
        attended_keys: np.ndarray,
        attended_values: np.ndarray,
        starts: np.ndarray,
        counter: MatmulCounter | None = None,
    ) -> MemoryKV:
        """Memory of one segment for each of `jobs` independent jobs.

        attended_keys/values: `[layers, jobs, kv_heads, S, head_dim]`, per job the context the
        client holds followed by the segment's own (already rotated) KV; the memory tokens
        attend to these and to each other with no mask at all.
        starts: `[jobs]` absolute position of each job's segment.
        """
        config = self.config
        layers, jobs, kv_heads, _, head_dim = attended_keys.shape
        t = config.loma.memory_tokens
        heads, groups, hidden = config.num_attention_heads, config.query_groups, config.hidden_size
        counter = counter if counter is not None else MatmulCounter()

        positions = memory_positions(np.asarray(starts), config)  # [jobs, t]
        cos, sin = rope_tables(positions, self.inv_freq, self.dtype)
        cos, sin = cos[:, None], sin[:, None]  # broadcast over heads
        ids = np.asarray(config.loma.memory_token_ids)
        x = np.broadcast_to(self.weights.embed_tokens[ids], (jobs, t, hidden)).astype(self.dtype)

        keys_out = np.empty((layers, jobs, kv_heads, t, head_dim), dtype=self.dtype)
        values_out = np.empty_like(keys_out)
        for index, layer in enumerate(self.weights.layers):
            normed = rms_norm(x, layer.input_layernorm, config.rms_norm_eps).reshape(jobs * t, hidden)
            k = apply_rope(_heads_major(self._project(layer.k_proj, normed, counter), jobs, t, kv_heads, head_dim), cos, sin)
            v = _heads_major(self._project(layer.v_proj, normed, counter), jobs, t, kv_heads, head_dim)
            keys_out[index], values_out[index] = k, v
            if index == layers - 1:
                break  # the last layer contributes only its k/v; its output is never used
            attention = self._attention(
                layer,
                normed,
                np.concatenate((attended_keys[index].astype(self.dtype, copy=False), k), axis=2),
                np.concatenate((attended_values[index].astype(self.dtype, copy=False), v), axis=2),
                cos,
                sin,
                counter,
            )
            x = x + self._project(layer.o_proj, attention, counter).reshape(jobs, t, hidden)
            x = x + self._mlp(layer, rms_norm(x, layer.post_attention_layernorm, config.rms_norm_eps), counter)
        return MemoryKV(keys_out, values_out, positions)

    def _project(self, linear, x: np.ndarray, counter: MatmulCounter) -> np.ndarray:
        counter.flops += linear.matmul_flops(x.shape[0])
        return linear(x)

    def _attention(
        self,
        layer: DecoderLayerWeights,
        normed: np.ndarray,
        keys: np.ndarray,
        values: np.ndarray,
        cos: np.ndarray,
        sin: np.ndarray,
        counter: MatmulCounter,
    ) -> np.ndarray:
        """GQA: query head h reads kv head h // groups, so the `groups` query heads of one kv head
        are stacked as extra rows of one matmul against that head's keys."""
        config = self.config
        jobs, kv_heads, length, head_dim = keys.shape
        t, heads, groups = config.loma.memory_tokens, config.num_attention_heads, config.query_groups
        q = apply_rope(_heads_major(self._project(layer.q_proj, normed, counter), jobs, t, heads, head_dim), cos, sin)
        q = q.reshape(jobs, kv_heads, groups * t, head_dim)
        scale = self.dtype(1.0 / np.sqrt(head_dim))
        probabilities = softmax((q @ keys.transpose(0, 1, 3, 2)) * scale)
        counter.add(groups * t, length, head_dim, batch=jobs * kv_heads)
        context = probabilities @ values  # [jobs, kv_heads, groups*t, head_dim]
        counter.add(groups * t, head_dim, length, batch=jobs * kv_heads)
        return context.reshape(jobs, heads, t, head_dim).transpose(0, 2, 1, 3).reshape(jobs * t, heads * head_dim)

    def _mlp(self, layer: DecoderLayerWeights, x: np.ndarray, counter: MatmulCounter) -> np.ndarray:
        shape = x.shape
        flat = x.reshape(-1, shape[-1])
        gated = silu(self._project(layer.gate_proj, flat, counter)) * self._project(layer.up_proj, flat, counter)
        return self._project(layer.down_proj, gated, counter).reshape(shape)

    def block(
        self,
        keys: np.ndarray,
        values: np.ndarray,
        position: int,
        context_keys: np.ndarray | None = None,
        context_values: np.ndarray | None = None,
    ) -> MemoryKV:
        """Compress `n` whole segments of one sequence (loma-spec 3.3).

        keys/values: `[layers, kv_heads, n*segment_length, head_dim]` heads-major; context likewise
        with any token count. Segment s attends to the context plus the memory of segments < s
        (never their raw KV) and starts at position + s*segment_length.
        Returns keys/values `[layers, kv_heads, n*t, head_dim]` and positions `[n*t]`.
        """
        config = self.config
        segment_length = config.loma.segment_length
        validate_kv(config, keys, values, "input")
        if keys.shape[2] == 0 or keys.shape[2] % segment_length != 0:
            raise InputError(
                f"input has {keys.shape[2]} tokens; expected a positive multiple of segment_length {segment_length}"
            )
        layers, kv_heads, _, head_dim = keys.shape
        if context_keys is None:
            context_keys = np.zeros((layers, kv_heads, 0, head_dim))
            context_values = context_keys
        validate_kv(config, context_keys, context_values, "context")
        held_keys, held_values = context_keys, context_values
        memories: list[MemoryKV] = []
        for s in range(keys.shape[2] // segment_length):
            window = slice(s * segment_length, (s + 1) * segment_length)
            memory = self.segment(
                np.concatenate((held_keys, keys[:, :, window]), axis=2)[:, None],
                np.concatenate((held_values, values[:, :, window]), axis=2)[:, None],
                np.array([position + s * segment_length]),
            )
            memories.append(memory)
            held_keys = np.concatenate((held_keys, memory.keys[:, 0]), axis=2)
            held_values = np.concatenate((held_values, memory.values[:, 0]), axis=2)
        return MemoryKV(
            np.concatenate([m.keys[:, 0] for m in memories], axis=2),
            np.concatenate([m.values[:, 0] for m in memories], axis=2),
            np.concatenate([m.positions[0] for m in memories]),
        )


def validate_kv(config: ModelConfig, keys: np.ndarray, values: np.ndarray, what: str) -> None:
    expected = (config.num_hidden_layers, config.num_key_value_heads, None, config.head_dim)
    for name, tensor in (("keys", keys), ("values", values)):
        if tensor.ndim != 4 or any(e is not None and e != s for e, s in zip(expected, tensor.shape)):
            raise InputError(
                f"{what} {name} has shape {list(tensor.shape)}; expected [layers={expected[0]}, "
                f"kv_heads={expected[1]}, tokens, head_dim={expected[3]}]"
            )
    if keys.shape != values.shape:
        raise InputError(f"{what} keys {list(keys.shape)} and values {list(values.shape)} differ in shape")
    for name, tensor in (("keys", keys), ("values", values)):
        if not np.all(np.isfinite(tensor)):
            raise InputError(f"{what} {name} contains NaN or Inf")
