"""llama.cpp's per-sequence state (`llama_state_seq_get_data` / `llama_state_seq_set_data`) as arrays.

The layout is the one of the llama.cpp that llama-cpp-python 0.3.36 vendors (src/llama-context.cpp
`state_seq_get_data`, src/llama-kv-cache.cpp `state_write` / `state_write_meta` / `state_write_data`
and their readers), for a plain attention KV cache in f32 or f16, all little-endian:

    u32 magic 0xaf143cd8, i32 seq_id,
    u32 n_stream; per stream: u32 cell_count, and when it is not 0:
      per cell: i32 pos, u32 n_seq_id, n_seq_id x i32 seq_id       (cells in cache-index order)
      u32 v_trans, u32 n_layer,
      per layer: i32 k_type, u64 k_row_bytes, cell_count rows      (row = kv_heads x head_dim)
      v_trans 0: per layer: i32 v_type, u64 v_row_bytes, cell_count rows
      v_trans 1: per layer: i32 v_type, u32 v_element_bytes, u32 n_embd_v, n_embd_v x cell_count

Reading a state back (`state_read_meta`) drops the sequence's cells, then places each cell of the
state at the position it names, whatever the positions are: they need not be contiguous. That is
what lets a sequence hold LoMA memory cells at P + (j+1)*ratio - 1 (docs/loma-spec.md 3.2).
Anything else (another magic, several streams, a quantized cache type, per-cell extras of M-RoPE
models) is refused with StateFormatError rather than misread.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

MAGIC = 0xAF143CD8
#: ggml type ids of the cache types this module reads (ggml.h `enum ggml_type`).
GGML_TYPES = {0: np.dtype("<f4"), 1: np.dtype("<f2")}


class StateFormatError(ValueError):
    """The bytes are not a single-stream f32/f16 KV sequence state of the layout above."""


@dataclass
class SequenceState:
    """One sequence's cells: `keys` and `values` are `[layers, cells, kv_heads * head_dim]` in the
    cache's dtype and llama.cpp's own element order (keys after RoPE, in adjacent-pair order)."""

    seq_id: int
    positions: np.ndarray  # int32 [cells]
    keys: np.ndarray
    values: np.ndarray
    v_transposed: bool

    @property
    def cells(self) -> int:
        return int(self.positions.shape[0])

    def select(self, mask: np.ndarray) -> "SequenceState":
        """The cells where `mask` is true, in their current order."""
        return SequenceState(self.seq_id, self.positions[mask], self.keys[:, mask], self.values[:, mask], self.v_transposed)

    def sorted_by_position(self) -> "SequenceState":
        order = np.argsort(self.positions, kind="stable")
        return SequenceState(self.seq_id, self.positions[order], self.keys[:, order], self.values[:, order], self.v_transposed)

    def followed_by(self, other: "SequenceState") -> "SequenceState":
        if other.keys.dtype != self.keys.dtype or other.keys.shape[::2] != self.keys.shape[::2]:
            raise ValueError("cells of different caches cannot be joined")
        return SequenceState(
            self.seq_id, np.concatenate((self.positions, other.positions)),
            np.concatenate((self.keys, other.keys), axis=1), np.concatenate((self.values, other.values), axis=1),
            self.v_transposed,
        )


class _Reader:
    def __init__(self, data: bytes):
        self.data, self.offset = memoryview(data), 0

    def unpack(self, fmt: str):
        size = struct.calcsize(fmt)
        if self.offset + size > len(self.data):
            raise StateFormatError(f"state ends at byte {len(self.data)}, inside a field at {self.offset}")
        values = struct.unpack_from(fmt, self.data, self.offset)
        self.offset += size
        return values if len(values) > 1 else values[0]

    def array(self, dtype: np.dtype, count: int) -> np.ndarray:
        size = dtype.itemsize * count
        if self.offset + size > len(self.data):
            raise StateFormatError(f"state ends at byte {len(self.data)}, inside tensor data at {self.offset}")
        values = np.frombuffer(self.data, dtype=dtype, count=count, offset=self.offset).copy()
        self.offset += size
        return values


def _cache_dtype(type_id: int, what: str) -> np.dtype:
    if type_id not in GGML_TYPES:
        raise StateFormatError(f"{what} has ggml type {type_id}; only f32 (0) and f16 (1) caches are read")
    return GGML_TYPES[type_id]


def parse(data: bytes, layers: int, row_width: int) -> SequenceState:
    """The state bytes of one sequence; `layers` and `row_width` (kv_heads * head_dim) come from
    the model and are checked against what the state says."""
    reader = _Reader(data)
    magic, seq_id, streams = reader.unpack("<IiI")
    if magic != MAGIC:
        raise StateFormatError(f"magic {magic:#x} is not llama.cpp's sequence state magic {MAGIC:#x}")
    if streams != 1:
        raise StateFormatError(f"{streams} KV streams; one (a single-sequence context) is read")
    cell_count = reader.unpack("<I")
    empty = np.zeros((layers, 0, row_width), np.float32)
    if cell_count == 0:
        _expect_end(reader)
        return SequenceState(seq_id, np.zeros(0, np.int32), empty, empty.copy(), False)
    positions = np.empty(cell_count, np.int32)
    for cell in range(cell_count):
        positions[cell], sequences = reader.unpack("<iI")
        if sequences != 1:
            raise StateFormatError(f"cell {cell} names {sequences} sequences; a sequence state names one")
        reader.unpack("<i")
    v_transposed, state_layers = reader.unpack("<II")
    if state_layers != layers:
        raise StateFormatError(f"state has {state_layers} layers, the model {layers}")
    keys = []
    for layer in range(layers):
        dtype = _cache_dtype(reader.unpack("<i"), f"layer {layer} keys")
        row_bytes = reader.unpack("<Q")
        if row_bytes != row_width * dtype.itemsize:
            raise StateFormatError(f"layer {layer} key rows hold {row_bytes} bytes, expected {row_width * dtype.itemsize}")
        keys.append(reader.array(dtype, cell_count * row_width).reshape(cell_count, row_width))
    values = []
    for layer in range(layers):
        dtype = _cache_dtype(reader.unpack("<i"), f"layer {layer} values")
        if v_transposed:
            element_bytes, width = reader.unpack("<II")
            if element_bytes != dtype.itemsize or width != row_width:
                raise StateFormatError(f"layer {layer} transposed values: {element_bytes}-byte elements x {width}")
            values.append(reader.array(dtype, width * cell_count).reshape(width, cell_count).T)
        else:
            row_bytes = reader.unpack("<Q")
            if row_bytes != row_width * dtype.itemsize:
                raise StateFormatError(f"layer {layer} value rows hold {row_bytes} bytes, expected {row_width * dtype.itemsize}")
            values.append(reader.array(dtype, cell_count * row_width).reshape(cell_count, row_width))
    _expect_end(reader)
    return SequenceState(seq_id, positions, np.stack(keys), np.ascontiguousarray(np.stack(values)), bool(v_transposed))


def _expect_end(reader: _Reader) -> None:
    if reader.offset != len(reader.data):
        raise StateFormatError(f"{len(reader.data) - reader.offset} bytes follow the state; another layout?")


def serialize(state: SequenceState) -> bytes:
    """The bytes `llama_state_seq_set_data` reads back into `state.seq_id`'s cells."""
    cells = state.cells
    parts = [struct.pack("<IiII", MAGIC, state.seq_id, 1, cells)]
    if cells == 0:
        return b"".join(parts)
    for position in state.positions:
        parts.append(struct.pack("<iIi", int(position), 1, state.seq_id))
    layers, _, width = state.keys.shape
    parts.append(struct.pack("<II", int(state.v_transposed), layers))
    type_ids = {dtype: type_id for type_id, dtype in GGML_TYPES.items()}
    for layer in range(layers):
        rows = np.ascontiguousarray(state.keys[layer], dtype=state.keys.dtype.newbyteorder("<"))
        parts.append(struct.pack("<iQ", type_ids[rows.dtype], width * rows.dtype.itemsize))
        parts.append(rows.tobytes())
    for layer in range(layers):
        rows = np.ascontiguousarray(state.values[layer], dtype=state.values.dtype.newbyteorder("<"))
        if state.v_transposed:
            parts.append(struct.pack("<iII", type_ids[rows.dtype], rows.dtype.itemsize, width))
            parts.append(np.ascontiguousarray(rows.T).tobytes())
        else:
            parts.append(struct.pack("<iQ", type_ids[rows.dtype], width * rows.dtype.itemsize))
            parts.append(rows.tobytes())
    return b"".join(parts)


def keys_to_hf(rows: np.ndarray, kv_heads: int) -> np.ndarray:
    """`[layers, cells, kv_heads * head_dim]` llama.cpp keys -> `[layers, kv_heads, cells, head_dim]`
    in Hugging Face's rotate-half order (convert_to_gguf.py permuted k_proj the other way)."""
    layers, cells, width = rows.shape
    head_dim = width // kv_heads
    heads = rows.reshape(layers, cells, kv_heads, head_dim // 2, 2).swapaxes(-1, -2)
    return heads.reshape(layers, cells, kv_heads, head_dim).transpose(0, 2, 1, 3)


def keys_from_hf(keys: np.ndarray) -> np.ndarray:
    """The inverse of `keys_to_hf`."""
    layers, kv_heads, cells, head_dim = keys.shape
    pairs = keys.transpose(0, 2, 1, 3).reshape(layers, cells, kv_heads, 2, head_dim // 2).swapaxes(-1, -2)
    return pairs.reshape(layers, cells, kv_heads * head_dim)


def values_to_hf(rows: np.ndarray, kv_heads: int) -> np.ndarray:
    """`[layers, cells, kv_heads * head_dim]` -> `[layers, kv_heads, cells, head_dim]` (no permutation)."""
    layers, cells, width = rows.shape
    return rows.reshape(layers, cells, kv_heads, width // kv_heads).transpose(0, 2, 1, 3)


def values_from_hf(values: np.ndarray) -> np.ndarray:
    layers, kv_heads, cells, head_dim = values.shape
    return values.transpose(0, 2, 1, 3).reshape(layers, cells, kv_heads * head_dim)
