"""The comparison baselines of docs/loma-spec.md 3.5: same output shape and positions as LoMA.

Every group of `compression_ratio` consecutive tokens becomes one output token labelled with the
group's last position, start + (j+1)*ratio - 1, which is also LoMA's memory position j:
- mean_pool averages the group's keys and values;
- strided keeps the group's last token (index ratio-1 within the group), so its key is already
  rotated at exactly the position it is labelled with.
"""

from __future__ import annotations

import numpy as np

from .config import ModelConfig
from .memory_pass import InputError, MemoryKV, memory_positions, validate_kv


def _grouped(config: ModelConfig, keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    validate_kv(config, keys, values, "input")
    ratio = config.loma.compression_ratio
    layers, kv_heads, tokens, head_dim = keys.shape
    if tokens == 0 or tokens % config.loma.segment_length != 0:
        raise InputError(
            f"input has {tokens} tokens; expected a positive multiple of segment_length {config.loma.segment_length}"
        )
    shape = (layers, kv_heads, tokens // ratio, ratio, head_dim)
    return keys.reshape(shape), values.reshape(shape)


def mean_pool(config: ModelConfig, keys: np.ndarray, values: np.ndarray, position: int) -> MemoryKV:
    grouped_keys, grouped_values = _grouped(config, keys, values)
    count = grouped_keys.shape[2]
    return MemoryKV(grouped_keys.mean(axis=3), grouped_values.mean(axis=3), memory_positions(position, config, count))


def strided(config: ModelConfig, keys: np.ndarray, values: np.ndarray, position: int) -> MemoryKV:
    grouped_keys, grouped_values = _grouped(config, keys, values)
    count = grouped_keys.shape[2]
    return MemoryKV(grouped_keys[:, :, :, -1], grouped_values[:, :, :, -1], memory_positions(position, config, count))


BASELINES = {"mean_pool": mean_pool, "strided": strided}
