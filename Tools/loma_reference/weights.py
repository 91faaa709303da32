"""Loading a checkpoint's weights (single file or sharded with an index) under HF names.

Only what the memory pass needs is loaded: embeddings and the decoder layers; the final norm
and LM head are never read.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass

import numpy as np

from .config import ModelConfig
from .safetensors_np import SafetensorsError, StoredTensor, read_file, read_header


class WeightsError(ValueError):
    """A checkpoint lacks a tensor, has one of the wrong shape, or its index is broken."""


@dataclass(frozen=True)
class Linear:
    """y = x @ weight.T + bias, weight `[out, in]` as HF stores it."""

    weight: np.ndarray
    bias: np.ndarray | None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = x @ self.weight.T
        return y if self.bias is None else y + self.bias

    def matmul_flops(self, rows: int) -> int:
        out_features, in_features = self.weight.shape
        return 2 * rows * out_features * in_features


@dataclass(frozen=True)
class DecoderLayerWeights:
    input_layernorm: np.ndarray
    q_proj: Linear
    k_proj: Linear
    v_proj: Linear
    o_proj: Linear
    post_attention_layernorm: np.ndarray
    gate_proj: Linear
    up_proj: Linear
    down_proj: Linear


@dataclass(frozen=True)
class ModelWeights:
    embed_tokens: np.ndarray  # [vocab, hidden]
    layers: tuple[DecoderLayerWeights, ...]


def _locate_tensors(model_dir: str) -> dict[str, str]:
    """tensor name -> file that holds it."""
    index_path = os.path.join(model_dir, "model.safetensors.index.json")
    single_path = os.path.join(model_dir, "model.safetensors")
    if os.path.exists(index_path):
        try:
            with open(index_path, encoding="utf-8") as handle:
                weight_map = json.load(handle).get("weight_map")
        except (OSError, json.JSONDecodeError) as error:
            raise WeightsError(f"{index_path}: unreadable ({error})") from error
        if not isinstance(weight_map, dict):
            raise WeightsError(f"{index_path}: missing 'weight_map' object")
        return {name: os.path.join(model_dir, shard) for name, shard in weight_map.items()}
    if os.path.exists(single_path):
        header, _, _ = read_header(single_path)
        return {name: single_path for name in header}
    raise WeightsError(f"{model_dir}: neither model.safetensors nor model.safetensors.index.json found")


class _TensorSource:
    def __init__(self, model_dir: str, dtype: np.dtype):
        self.locations = _locate_tensors(model_dir)
        self.dtype = dtype
        self.cache: dict[str, dict[str, StoredTensor]] = {}

    def has(self, name: str) -> bool:
        return name in self.locations

    def get(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        if name not in self.locations:
            raise WeightsError(f"checkpoint has no tensor {name!r}")
        path = self.locations[name]
        if path not in self.cache:
            try:
                self.cache[path] = read_file(path)
            except SafetensorsError as error:
                raise WeightsError(str(error)) from error
        if name not in self.cache[path]:
            raise WeightsError(f"{path}: index names tensor {name!r} but the shard lacks it")
        stored = self.cache[path][name]
        if stored.shape != shape:
            raise WeightsError(f"{path}: tensor {name!r} has shape {list(stored.shape)}, expected {list(shape)}")
        if stored.dtype not in ("F32", "F16", "BF16", "F64"):
            raise WeightsError(f"{path}: tensor {name!r} has non-float dtype {stored.dtype}")
        widened = stored.as_float64() if self.dtype == np.float64 else stored.as_float32()
        return np.ascontiguousarray(widened, dtype=self.dtype)

    def linear(self, prefix: str, out_features: int, in_features: int, has_bias: bool) -> Linear:
        weight = self.get(f"{prefix}.weight", (out_features, in_features))
        bias = self.get(f"{prefix}.bias", (out_features,)) if has_bias else None
        return Linear(weight, bias)


def load_weights(model_dir: str | os.PathLike, config: ModelConfig, dtype=np.float64) -> ModelWeights:
    """Weights widened to `dtype` (float64 for the reference, float32 for the benchmark)."""
    source = _TensorSource(os.fspath(model_dir), np.dtype(dtype))
    hidden, inter = config.hidden_size, config.intermediate_size
    q_out = config.num_attention_heads * config.head_dim
    kv_out = config.num_key_value_heads * config.head_dim
    layers = []
    for index in range(config.num_hidden_layers):
        p = f"model.layers.{index}"
        layers.append(
            DecoderLayerWeights(
                input_layernorm=source.get(f"{p}.input_layernorm.weight", (hidden,)),
                q_proj=source.linear(f"{p}.self_attn.q_proj", q_out, hidden, config.attention_bias),
                k_proj=source.linear(f"{p}.self_attn.k_proj", kv_out, hidden, config.attention_bias),
                v_proj=source.linear(f"{p}.self_attn.v_proj", kv_out, hidden, config.attention_bias),
                o_proj=source.linear(f"{p}.self_attn.o_proj", hidden, q_out, config.output_bias),
                post_attention_layernorm=source.get(f"{p}.post_attention_layernorm.weight", (hidden,)),
                gate_proj=source.linear(f"{p}.mlp.gate_proj", inter, hidden, config.mlp_bias),
                up_proj=source.linear(f"{p}.mlp.up_proj", inter, hidden, config.mlp_bias),
                down_proj=source.linear(f"{p}.mlp.down_proj", hidden, inter, config.mlp_bias),
            )
        )
    embed = source.get("model.embed_tokens.weight", (config.vocab_size, hidden))
    return ModelWeights(embed_tokens=embed, layers=tuple(layers))
