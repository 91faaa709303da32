"""Hand-written safetensors reader/writer on numpy alone.

The reference must run on a fresh machine with numpy only, so the format is implemented here
instead of depending on the `safetensors` package: an 8-byte little-endian header length, a
JSON header mapping tensor names to {dtype, shape, data_offsets} (plus optional
`__metadata__` of string pairs), then the raw little-endian data.

bfloat16 has no numpy dtype; it is carried as uint16 bit patterns and converted exactly.
"""

from __future__ import annotations

import json
import os
import struct
from dataclasses import dataclass
from typing import BinaryIO, Iterable, Mapping

import numpy as np


class SafetensorsError(ValueError):
    """A safetensors file is malformed or lacks what the caller needs."""


_NUMPY_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),  # bit patterns; see bf16_bits_to_float32
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
}

#: Headers larger than this are refused before reading them, so a corrupt length cannot make
#: the reader allocate gigabytes.
MAX_HEADER_BYTES = 100 * 1024 * 1024


def bf16_bits_to_float32(bits: np.ndarray) -> np.ndarray:
    """Exact widening: a bf16 value is the top half of the float32 with the same bits."""
    return (bits.astype(np.uint32) << 16).view(np.float32)


def float32_to_bf16_bits(values: np.ndarray) -> np.ndarray:
    """Round to nearest, ties to even, as torch's `.to(torch.bfloat16)` does; NaN stays NaN."""
    as_f32 = np.ascontiguousarray(values, dtype=np.float32)
    bits = as_f32.view(np.uint32).astype(np.uint64)
    rounding_bias = ((bits >> 16) & 1) + 0x7FFF
    rounded = ((bits + rounding_bias) >> 16).astype(np.uint16)
    nan = np.isnan(as_f32)
    if nan.any():
        rounded = np.where(nan, np.uint16(0x7FC0), rounded)
    return rounded


def round_to_dtype(values: np.ndarray, dtype: str) -> np.ndarray:
    """Values as they will read back after storing as `dtype`, widened to float64 exactly."""
    return to_float64(encode(values, dtype), dtype)


def encode(values: np.ndarray, dtype: str) -> np.ndarray:
    """The little-endian array that stores `values` as safetensors `dtype`."""
    if dtype == "BF16":
        return float32_to_bf16_bits(values)
    if dtype not in _NUMPY_DTYPES:
        raise SafetensorsError(f"unsupported dtype {dtype!r} for writing")
    return np.ascontiguousarray(values, dtype=_NUMPY_DTYPES[dtype])


def to_float64(stored: np.ndarray, dtype: str) -> np.ndarray:
    """Exact widening of a stored floating-point array to float64."""
    if dtype == "BF16":
        return bf16_bits_to_float32(stored).astype(np.float64)
    if dtype in ("F16", "F32", "F64"):
        return stored.astype(np.float64)
    raise SafetensorsError(f"dtype {dtype} is not a floating-point dtype")


def to_float32(stored: np.ndarray, dtype: str) -> np.ndarray:
    """Widening (or, for F64, rounding) of a stored floating-point array to float32."""
    if dtype == "BF16":
        return bf16_bits_to_float32(stored)
    if dtype in ("F16", "F32", "F64"):
        return stored.astype(np.float32)
    raise SafetensorsError(f"dtype {dtype} is not a floating-point dtype")


@dataclass(frozen=True)
class StoredTensor:
    """A tensor as stored: its safetensors dtype name and the raw (possibly bf16-bits) array."""

    dtype: str
    data: np.ndarray

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    def as_float64(self) -> np.ndarray:
        return to_float64(self.data, self.dtype)

    def as_float32(self) -> np.ndarray:
        return to_float32(self.data, self.dtype)


def _header_entry(name: str, dtype: str, shape: Iterable[int], begin: int, end: int) -> dict:
    return {"dtype": dtype, "shape": [int(s) for s in shape], "data_offsets": [begin, end]}


def _build_header(
    arrays: Mapping[str, StoredTensor], metadata: Mapping[str, str] | None
) -> bytes:
    header: dict = {}
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    offset = 0
    for name, tensor in arrays.items():
        size = tensor.data.nbytes
        header[name] = _header_entry(name, tensor.dtype, tensor.shape, offset, offset + size)
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    # Pad with spaces to 8 bytes so the data section is aligned, as the Rust writer does.
    encoded += b" " * ((-len(encoded)) % 8)
    return encoded


def write_file(
    path: str | os.PathLike,
    tensors: Mapping[str, tuple[str, np.ndarray]],
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write `{name: (dtype, values)}`; values are encoded to dtype (bf16 rounds to nearest even)."""
    stored = {name: StoredTensor(dtype, encode(values, dtype)) for name, (dtype, values) in tensors.items()}
    write_stored(path, stored, metadata)


def write_stored(
    path: str | os.PathLike,
    tensors: Mapping[str, StoredTensor],
    metadata: Mapping[str, str] | None = None,
) -> None:
    header = _build_header(tensors, metadata)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(header)))
        out.write(header)
        for tensor in tensors.values():
            out.write(np.ascontiguousarray(tensor.data).tobytes())


def write_streaming(
    path: str | os.PathLike,
    layout: Mapping[str, tuple[str, tuple[int, ...]]],
    produce,
    metadata: Mapping[str, str] | None = None,
) -> None:
    """Write a file too large to hold in memory: `produce(name)` returns each tensor's values
    (already shaped) only when its turn comes."""
    header: dict = {}
    if metadata:
        header["__metadata__"] = dict(metadata)
    offset = 0
    for name, (dtype, shape) in layout.items():
        size = int(np.prod(shape, dtype=np.int64)) * _NUMPY_DTYPES[dtype].itemsize
        header[name] = _header_entry(name, dtype, shape, offset, offset + size)
        offset += size
    encoded = json.dumps(header, separators=(",", ":")).encode("utf-8")
    encoded += b" " * ((-len(encoded)) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(encoded)))
        out.write(encoded)
        for name, (dtype, shape) in layout.items():
            data = encode(produce(name), dtype)
            if tuple(data.shape) != tuple(shape):
                raise SafetensorsError(f"{path}: produced {name} with shape {data.shape}, expected {shape}")
            out.write(data.tobytes())


def _read_exactly(handle: BinaryIO, count: int, path: str, what: str) -> bytes:
    data = handle.read(count)
    if len(data) != count:
        raise SafetensorsError(f"{path}: file ends inside the {what} ({len(data)} of {count} bytes)")
    return data


def read_header(path: str | os.PathLike) -> tuple[dict, dict, int]:
    """(tensor entries, metadata, byte offset of the data section), validated."""
    path = os.fspath(path)
    try:
        handle = open(path, "rb")
    except OSError as error:
        raise SafetensorsError(f"{path}: cannot open ({error.strerror})") from error
    with handle:
        (length,) = struct.unpack("<Q", _read_exactly(handle, 8, path, "header length"))
        if length > MAX_HEADER_BYTES:
            raise SafetensorsError(f"{path}: header length {length} exceeds {MAX_HEADER_BYTES} bytes")
        raw = _read_exactly(handle, length, path, "JSON header")
        file_size = os.fstat(handle.fileno()).st_size
    try:
        header = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise SafetensorsError(f"{path}: header is not valid JSON ({error})") from error
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header is not a JSON object")
    metadata = header.pop("__metadata__", {}) or {}
    data_start = 8 + length
    data_size = file_size - data_start
    for name, entry in header.items():
        _validate_entry(path, name, entry, data_size)
    return header, metadata, data_start


def _validate_entry(path: str, name: str, entry: object, data_size: int) -> None:
    if not isinstance(entry, dict):
        raise SafetensorsError(f"{path}: tensor {name!r} header entry is not an object")
    dtype = entry.get("dtype")
    shape = entry.get("shape")
    offsets = entry.get("data_offsets")
    if dtype not in _NUMPY_DTYPES:
        raise SafetensorsError(f"{path}: tensor {name!r} has unsupported dtype {dtype!r}")
    if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise SafetensorsError(f"{path}: tensor {name!r} has invalid shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) for o in offsets)
        or not 0 <= offsets[0] <= offsets[1] <= data_size
    ):
        raise SafetensorsError(
            f"{path}: tensor {name!r} has data_offsets {offsets!r} outside the {data_size}-byte data section"
        )
    expected = int(np.prod(shape, dtype=np.int64)) * _NUMPY_DTYPES[dtype].itemsize
    if offsets[1] - offsets[0] != expected:
        raise SafetensorsError(
            f"{path}: tensor {name!r} spans {offsets[1] - offsets[0]} bytes but {dtype} {shape} needs {expected}"
        )


def read_file(path: str | os.PathLike, names: Iterable[str] | None = None) -> dict[str, StoredTensor]:
    """Tensors of one file (all, or just `names`), memory-mapped read-only."""
    path = os.fspath(path)
    header, _, data_start = read_header(path)
    wanted = list(header) if names is None else list(names)
    missing = [n for n in wanted if n not in header]
    if missing:
        raise SafetensorsError(f"{path}: missing tensor(s) {', '.join(missing)}")
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    result: dict[str, StoredTensor] = {}
    for name in wanted:
        entry = header[name]
        begin, end = entry["data_offsets"]
        dtype = _NUMPY_DTYPES[entry["dtype"]]
        flat = raw[data_start + begin : data_start + end].view(dtype)
        result[name] = StoredTensor(entry["dtype"], flat.reshape(entry["shape"]))
    return result


def read_metadata(path: str | os.PathLike) -> dict:
    return read_header(path)[1]
