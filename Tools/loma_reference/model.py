"""Opening a checkpoint folder and dispatching a compression method on it."""

from __future__ import annotations

import os

import numpy as np

from .baselines import BASELINES
from .config import ModelConfig, load_config
from .memory_pass import MemoryKV, MemoryPass
from .weights import load_weights

METHODS = ("loma", *BASELINES)


def open_model(model_dir: str | os.PathLike, dtype=np.float64) -> MemoryPass:
    config = load_config(model_dir)
    return MemoryPass(config, load_weights(model_dir, config, dtype), dtype)


def compress(
    model_dir: str | os.PathLike,
    keys: np.ndarray,
    values: np.ndarray,
    position: int,
    method: str = "loma",
    context_keys: np.ndarray | None = None,
    context_values: np.ndarray | None = None,
) -> tuple[ModelConfig, MemoryKV]:
    """float64 compression of a heads-major block; baselines need only the config (and ignore context)."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r} (expected one of {', '.join(METHODS)})")
    if method == "loma":
        model = open_model(model_dir)
        return model.config, model.block(keys, values, position, context_keys, context_values)
    config = load_config(model_dir)
    return config, BASELINES[method](config, keys, values, position)
