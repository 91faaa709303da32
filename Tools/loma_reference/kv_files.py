"""KV files of docs/loma-spec.md section 6: safetensors with `keys` and `values`, optionally `positions`.

Heads-major `[layers, kv_heads, tokens, head_dim]` is the file layout; tokens-major
`[layers, tokens, kv_heads, head_dim]` (the vLLM/flash layout) is accepted where asked for and
transposed on load.
"""

from __future__ import annotations

import os

import numpy as np

from .safetensors_np import SafetensorsError, read_file, write_file

LAYOUTS = ("heads_major", "tokens_major")
FLOAT_DTYPES = ("F32", "F16", "BF16")


class KVFileError(ValueError):
    """A KV file lacks keys/values or holds them in an unusable form."""


def to_heads_major(tensor: np.ndarray, layout: str) -> np.ndarray:
    if layout not in LAYOUTS:
        raise KVFileError(f"unknown layout {layout!r} (expected one of {', '.join(LAYOUTS)})")
    return tensor if layout == "heads_major" else tensor.transpose(0, 2, 1, 3)


def from_heads_major(tensor: np.ndarray, layout: str) -> np.ndarray:
    return to_heads_major(tensor, layout)  # the swap is its own inverse


def read_kv(path: str | os.PathLike, layout: str = "heads_major") -> tuple[np.ndarray, np.ndarray, str]:
    """(keys, values) heads-major in float64 exactly as stored, and the stored dtype."""
    try:
        tensors = read_file(path, ["keys", "values"])
    except SafetensorsError as error:
        raise KVFileError(str(error)) from error
    keys, values = tensors["keys"], tensors["values"]
    for name, tensor in tensors.items():
        if tensor.dtype not in FLOAT_DTYPES:
            raise KVFileError(f"{path}: tensor {name!r} has dtype {tensor.dtype}; expected one of {FLOAT_DTYPES}")
        if len(tensor.shape) != 4:
            raise KVFileError(f"{path}: tensor {name!r} has shape {list(tensor.shape)}; expected 4 dimensions")
    if keys.dtype != values.dtype:
        raise KVFileError(f"{path}: keys are {keys.dtype} but values are {values.dtype}")
    return (
        to_heads_major(keys.as_float64(), layout),
        to_heads_major(values.as_float64(), layout),
        keys.dtype,
    )


def write_kv(
    path: str | os.PathLike,
    keys: np.ndarray,
    values: np.ndarray,
    dtype: str = "F32",
    layout: str = "heads_major",
    positions: np.ndarray | None = None,
    metadata: dict | None = None,
) -> None:
    """Write heads-major keys/values (converted to `layout`, rounded to `dtype`)."""
    tensors = {
        "keys": (dtype, from_heads_major(keys, layout)),
        "values": (dtype, from_heads_major(values, layout)),
    }
    if positions is not None:
        tensors["positions"] = ("I64", np.asarray(positions, dtype=np.int64))
    write_file(path, tensors, metadata)
