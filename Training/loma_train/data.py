"""Random training windows and the fixed held-out windows.

The windows of step `s` come from a generator seeded with `(seed, s)`, so a resumed run draws
exactly the batches an uninterrupted one would, with no generator state to checkpoint.
"""

from __future__ import annotations

import numpy as np
import torch


def _windows(data: np.ndarray, starts: np.ndarray, length: int) -> torch.Tensor:
    return torch.from_numpy(np.stack([data[s:s + length] for s in starts]).astype(np.int64))


def training_windows(data: np.ndarray, seed: int, step: int, count: int, length: int) -> torch.Tensor:
    if data.size <= length:
        raise ValueError(f"training split has {data.size} tokens, fewer than one window ({length})")
    rng = np.random.default_rng([seed, step])
    return _windows(data, rng.integers(0, data.size - length, size=count), length)


def held_out_windows(data: np.ndarray, count: int, length: int) -> torch.Tensor:
    """Evenly spaced windows over the held-out split (deterministic, same for every run)."""
    if data.size <= length:
        raise ValueError(f"held-out split has {data.size} tokens, fewer than one window ({length})")
    return _windows(data, np.linspace(0, data.size - length - 1, count).astype(np.int64), length)
