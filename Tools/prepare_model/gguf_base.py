"""The base checkpoint read out of a llama.cpp GGUF file, as Hugging Face float32 tensors.

Dequantisation is the `gguf` package's own numpy code (the code transformers' GGUF loader calls
too), so the float32 values are those transformers gets from `from_pretrained(gguf_file=...)`.
llama.cpp's converter stores the Q and K projections of Llama models with the rows of each head
interleaved for its RoPE kernel; `unpermute` undoes that exactly as transformers does
(`TensorProcessor._reverse_permute_weights` in `integrations/ggml.py` /
`modeling_gguf_pytorch_utils.py`), giving the Hugging Face (rotate-half) layout the engine uses.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np


class BaseModelError(ValueError):
    """The GGUF file is not a Llama checkpoint this tool can rebuild from."""


#: GGUF tensor name (after `blk.N.`) -> Hugging Face name (after `model.layers.N.`).
_LAYER_NAMES = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
    "attn_norm": "input_layernorm",
    "ffn_norm": "post_attention_layernorm",
}
_GLOBAL_NAMES = {
    "token_embd": "model.embed_tokens",
    "output_norm": "model.norm",
    "output": "lm_head",
}
_LAYER_PATTERN = re.compile(r"^blk\.(\d+)\.([a-z_]+)\.(weight|bias)$")


def hf_name(gguf_name: str) -> str | None:
    """The Hugging Face name of a GGUF tensor, or None for tensors transformers also drops
    (e.g. `rope_freqs`)."""
    match = _LAYER_PATTERN.match(gguf_name)
    if match:
        layer, part, kind = match.groups()
        mapped = _LAYER_NAMES.get(part)
        return None if mapped is None else f"model.layers.{layer}.{mapped}.{kind}"
    stem, _, kind = gguf_name.rpartition(".")
    mapped = _GLOBAL_NAMES.get(stem)
    return None if mapped is None else f"{mapped}.{kind}"


def unpermute(weights: np.ndarray, heads: int) -> np.ndarray:
    """Inverse of llama.cpp's `permute(w, n_head)`: within each head, row pairs (2i, 2i+1)
    go back to (i, i + head_dim/2). Works for weights `[out, in]` and biases `[out]`."""
    half = weights.shape[0] // heads // 2
    grouped = weights.reshape(heads, half, 2, *weights.shape[1:])
    return np.ascontiguousarray(grouped.swapaxes(2, 1).reshape(weights.shape))


@dataclass(frozen=True)
class BaseShape:
    """What the GGUF metadata says about the architecture (checked against the delta's config)."""

    layers: int
    hidden: int
    intermediate: int
    heads: int
    kv_heads: int
    vocabulary: int
    rope_theta: float
    rms_norm_eps: float
    tied: bool


class GGUFBase:
    """A memory-mapped GGUF checkpoint; `tensor(name)` dequantises one Hugging Face tensor on
    demand so the whole float32 model never has to be in memory at once."""

    def __init__(self, path: str | os.PathLike):
        import gguf  # imported here so `--help` works before the venv has it

        self.path = os.fspath(path)
        self._gguf = gguf
        try:
            self._reader = gguf.GGUFReader(self.path)
        except (OSError, ValueError) as error:
            raise BaseModelError(f"{self.path}: not a readable GGUF file ({error})") from error
        architecture = self._field("general.architecture")
        if architecture != "llama":
            raise BaseModelError(f"{self.path}: general.architecture is {architecture!r}; only llama is supported")
        self._tensors = {}
        for tensor in self._reader.tensors:
            name = hf_name(tensor.name)
            if name is not None:
                self._tensors[name] = tensor
        layers = int(self._field("llama.block_count"))
        embedding = self._tensors.get("model.embed_tokens.weight")
        if embedding is None:
            raise BaseModelError(f"{self.path}: no token_embd.weight tensor")
        self.shape = BaseShape(
            layers=layers,
            hidden=int(self._field("llama.embedding_length")),
            intermediate=int(self._field("llama.feed_forward_length")),
            heads=int(self._field("llama.attention.head_count")),
            kv_heads=int(self._field("llama.attention.head_count_kv")),
            vocabulary=int(embedding.shape[-1]),
            rope_theta=float(self._field("llama.rope.freq_base")),
            rms_norm_eps=float(self._field("llama.attention.layer_norm_rms_epsilon")),
            tied="lm_head.weight" not in self._tensors,
        )

    def _field(self, key: str):
        field = self._reader.fields.get(key)
        if field is None:
            raise BaseModelError(f"{self.path}: metadata {key!r} is missing")
        return field.contents()

    @property
    def names(self) -> list[str]:
        """Hugging Face names of every tensor the file holds, sorted."""
        return sorted(self._tensors)

    def tensor_shape(self, name: str) -> tuple[int, ...]:
        """Hugging Face shape (`[out, in]` for weights): GGUF lists dimensions innermost first."""
        return tuple(int(d) for d in reversed(self._tensor(name).shape))

    def _tensor(self, name: str):
        try:
            return self._tensors[name]
        except KeyError:
            raise BaseModelError(f"{self.path}: no tensor for {name!r}") from None

    def tensor(self, name: str) -> np.ndarray:
        """The float32 tensor `name` in the Hugging Face layout (Q/K un-permuted)."""
        raw = self._tensor(name)
        values = self._gguf.quants.dequantize(raw.data, raw.tensor_type)
        values = np.asarray(values, dtype=np.float32).reshape(self.tensor_shape(name))
        if ".self_attn.q_proj." in name:
            values = unpermute(values, self.shape.heads)
        elif ".self_attn.k_proj." in name:
            values = unpermute(values, self.shape.kv_heads)
        return np.ascontiguousarray(values)
