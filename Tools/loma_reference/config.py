"""Hugging Face `config.json` parsing for LlamaForCausalLM / Qwen2ForCausalLM plus the `loma`
section, and RoPE inverse frequencies as transformers computes them.

Both config generations are read: transformers v4 (`rope_theta` + `rope_scaling` whose kind is
under `rope_type` or the older `type`) and v5 (`rope_parameters` holding `rope_type`,
`rope_theta` and the scaling fields).
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np


class ConfigError(ValueError):
    """config.json is unreadable, unsupported or inconsistent; the message names the field."""


SUPPORTED_ARCHITECTURES = {"LlamaForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2"}


@dataclass(frozen=True)
class RopeConfig:
    rope_type: str  # "default" | "linear" | "llama3"
    theta: float
    factor: float = 1.0
    low_freq_factor: float = 1.0
    high_freq_factor: float = 4.0
    original_max_position_embeddings: int = 8192


@dataclass(frozen=True)
class LomaConfig:
    segment_length: int
    compression_ratio: int
    memory_token_ids: tuple[int, ...]  # exactly `memory_tokens` entries after expansion

    @property
    def memory_tokens(self) -> int:
        return self.segment_length // self.compression_ratio


@dataclass(frozen=True)
class ModelConfig:
    architecture: str  # "llama" | "qwen2"
    hidden_size: int
    intermediate_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    vocab_size: int
    rms_norm_eps: float
    tie_word_embeddings: bool
    attention_bias: bool  # q/k/v (and for Llama also o_proj) carry biases
    output_bias: bool  # o_proj carries a bias (Llama with attention_bias; never Qwen2)
    mlp_bias: bool
    rope: RopeConfig
    loma: LomaConfig

    @property
    def query_groups(self) -> int:
        return self.num_attention_heads // self.num_key_value_heads


def _require(raw: dict, key: str, kind: type, where: str):
    if key not in raw or raw[key] is None:
        raise ConfigError(f"{where}: missing required field {key!r}")
    value = raw[key]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is int and isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
        raise ConfigError(f"{where}: field {key!r} must be {kind.__name__}, got {value!r}")
    return value


def _optional(raw: dict, key: str, kind: type, default, where: str):
    if raw.get(key) is None:
        return default
    return _require(raw, key, kind, where)


def _positive(value: int, key: str, where: str) -> int:
    if value <= 0:
        raise ConfigError(f"{where}: field {key!r} must be positive, got {value}")
    return value


def parse_rope(raw: dict, where: str) -> RopeConfig:
    """v5 `rope_parameters` wins over v4 `rope_theta`/`rope_scaling` when both are present."""
    if isinstance(raw.get("rope_parameters"), dict):
        params = raw["rope_parameters"]
        section = f"{where} rope_parameters"
        theta = _optional(params, "rope_theta", float, None, section)
        if theta is None:
            theta = _optional(raw, "rope_theta", float, 10000.0, where)
    else:
        theta = _optional(raw, "rope_theta", float, 10000.0, where)
        params = raw.get("rope_scaling") or {}
        section = f"{where} rope_scaling"
        if not isinstance(params, dict):
            raise ConfigError(f"{where}: field 'rope_scaling' must be an object or null")
    rope_type = params.get("rope_type", params.get("type", "default"))
    if rope_type == "default":
        return RopeConfig("default", theta)
    if rope_type == "linear":
        return RopeConfig("linear", theta, factor=_require(params, "factor", float, section))
    if rope_type == "llama3":
        config = RopeConfig(
            "llama3",
            theta,
            factor=_require(params, "factor", float, section),
            low_freq_factor=_require(params, "low_freq_factor", float, section),
            high_freq_factor=_require(params, "high_freq_factor", float, section),
            original_max_position_embeddings=_require(params, "original_max_position_embeddings", int, section),
        )
        if config.high_freq_factor <= config.low_freq_factor:
            raise ConfigError(f"{section}: high_freq_factor must exceed low_freq_factor")
        return config
    raise ConfigError(f"{section}: unsupported rope_type {rope_type!r} (supported: default, linear, llama3)")


def parse_loma(raw: dict, vocab_size: int, where: str) -> LomaConfig:
    section = raw.get("loma")
    if not isinstance(section, dict):
        raise ConfigError(
            f"{where}: no 'loma' section; this checkpoint is not a LoMA compression model "
            "(expected \"loma\": {\"segment_length\", \"compression_ratio\", \"memory_token_ids\"})"
        )
    here = f"{where} loma"
    segment_length = _positive(_require(section, "segment_length", int, here), "segment_length", here)
    ratio = _positive(_require(section, "compression_ratio", int, here), "compression_ratio", here)
    if segment_length % ratio != 0:
        raise ConfigError(f"{here}: segment_length {segment_length} is not a multiple of compression_ratio {ratio}")
    ids = section.get("memory_token_ids")
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise ConfigError(f"{here}: 'memory_token_ids' must be a list of integers")
    t = segment_length // ratio
    if len(ids) == 1:
        ids = ids * t
    if len(ids) != t:
        raise ConfigError(f"{here}: 'memory_token_ids' has {len(ids)} entries; expected {t} (or 1, repeated)")
    bad = [i for i in ids if not 0 <= i < vocab_size]
    if bad:
        raise ConfigError(f"{here}: memory_token_ids {bad} outside the vocabulary of {vocab_size}")
    return LomaConfig(segment_length, ratio, tuple(ids))


def parse_config(raw: dict, where: str = "config.json") -> ModelConfig:
    architectures = raw.get("architectures") or []
    known = [SUPPORTED_ARCHITECTURES[a] for a in architectures if a in SUPPORTED_ARCHITECTURES]
    if known:
        architecture = known[0]
    elif raw.get("model_type") in ("llama", "qwen2"):
        architecture = raw["model_type"]
    else:
        raise ConfigError(
            f"{where}: architectures {architectures} / model_type {raw.get('model_type')!r} not supported "
            f"(supported: {', '.join(SUPPORTED_ARCHITECTURES)})"
        )
    hidden_act = raw.get("hidden_act", "silu")
    if hidden_act != "silu":
        raise ConfigError(f"{where}: hidden_act {hidden_act!r} not supported (only silu / SwiGLU)")
    if architecture == "qwen2" and raw.get("use_sliding_window"):
        raise ConfigError(f"{where}: use_sliding_window=true is not supported")

    hidden = _positive(_require(raw, "hidden_size", int, where), "hidden_size", where)
    heads = _positive(_require(raw, "num_attention_heads", int, where), "num_attention_heads", where)
    kv_heads = _positive(_optional(raw, "num_key_value_heads", int, heads, where), "num_key_value_heads", where)
    if heads % kv_heads != 0:
        raise ConfigError(f"{where}: num_attention_heads {heads} is not a multiple of num_key_value_heads {kv_heads}")
    if raw.get("head_dim") is None and hidden % heads != 0:
        raise ConfigError(f"{where}: hidden_size {hidden} is not divisible by num_attention_heads {heads}; set head_dim")
    head_dim = _positive(_optional(raw, "head_dim", int, hidden // heads, where), "head_dim", where)
    if head_dim % 2 != 0:
        raise ConfigError(f"{where}: head_dim {head_dim} must be even for rotate-half RoPE")
    vocab = _positive(_require(raw, "vocab_size", int, where), "vocab_size", where)
    if architecture == "qwen2":
        attention_bias, output_bias = True, False
    else:
        attention_bias = _optional(raw, "attention_bias", bool, False, where)
        output_bias = attention_bias
    return ModelConfig(
        architecture=architecture,
        hidden_size=hidden,
        intermediate_size=_positive(_require(raw, "intermediate_size", int, where), "intermediate_size", where),
        num_hidden_layers=_positive(_require(raw, "num_hidden_layers", int, where), "num_hidden_layers", where),
        num_attention_heads=heads,
        num_key_value_heads=kv_heads,
        head_dim=head_dim,
        vocab_size=vocab,
        rms_norm_eps=_optional(raw, "rms_norm_eps", float, 1e-6, where),
        tie_word_embeddings=_optional(raw, "tie_word_embeddings", bool, False, where),
        attention_bias=attention_bias,
        output_bias=output_bias,
        mlp_bias=architecture == "llama" and _optional(raw, "mlp_bias", bool, False, where),
        rope=parse_rope(raw, where),
        loma=parse_loma(raw, vocab, where),
    )


def load_config(model_dir: str | os.PathLike) -> ModelConfig:
    path = os.path.join(model_dir, "config.json")
    try:
        with open(path, encoding="utf-8") as handle:
            raw = json.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read ({error.strerror})") from error
    except json.JSONDecodeError as error:
        raise ConfigError(f"{path}: not valid JSON ({error})") from error
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: top level must be a JSON object")
    return parse_config(raw, path)


def inverse_frequencies(rope: RopeConfig, head_dim: int) -> np.ndarray:
    """float64 inv_freq of length head_dim/2, following transformers' modeling_rope_utils.

    llama3 (`_compute_llama3_parameters`): wavelengths shorter than
    original_max/high_freq_factor keep their frequency, longer than original_max/low_freq_factor
    are divided by `factor`, and those between interpolate smoothly between the two.
    """
    exponents = np.arange(0, head_dim, 2, dtype=np.int64).astype(np.float64) / head_dim
    inv_freq = 1.0 / (rope.theta**exponents)
    if rope.rope_type == "default":
        return inv_freq
    if rope.rope_type == "linear":
        return inv_freq / rope.factor
    old_context = rope.original_max_position_embeddings
    low_freq_wavelen = old_context / rope.low_freq_factor
    high_freq_wavelen = old_context / rope.high_freq_factor
    wavelen = 2 * math.pi / inv_freq
    scaled = np.where(wavelen > low_freq_wavelen, inv_freq / rope.factor, inv_freq)
    smooth = (old_context / wavelen - rope.low_freq_factor) / (rope.high_freq_factor - rope.low_freq_factor)
    smoothed = (1 - smooth) * scaled / rope.factor + smooth * scaled
    medium = ~(wavelen < high_freq_wavelen) & ~(wavelen > low_freq_wavelen)
    return np.where(medium, smoothed, scaled)
