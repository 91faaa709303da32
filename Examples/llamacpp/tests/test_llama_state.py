"""llama_state.py without llama.cpp: the byte layout, its refusals, and the key order conversion."""

from __future__ import annotations

import struct

import numpy as np
import pytest

import llama_state
from convert_to_gguf import permute_rows_for_pairs
from llama_state import SequenceState, StateFormatError

LAYERS, KV_HEADS, HEAD_DIM = 2, 2, 8
WIDTH = KV_HEADS * HEAD_DIM


def random_state(cells: int, dtype: str, transposed: bool, seed: int = 0) -> SequenceState:
    generator = np.random.default_rng(seed)
    positions = generator.permutation(100)[:cells].astype(np.int32)
    shape = (LAYERS, cells, WIDTH)
    return SequenceState(0, positions, generator.standard_normal(shape).astype(dtype),
                         generator.standard_normal(shape).astype(dtype), transposed)


@pytest.mark.parametrize("dtype", ["float32", "float16"])
@pytest.mark.parametrize("transposed", [False, True])
def test_serialize_then_parse_gives_the_same_cells(dtype, transposed):
    state = random_state(5, dtype, transposed)
    parsed = llama_state.parse(llama_state.serialize(state), LAYERS, WIDTH)
    assert parsed.v_transposed == transposed
    np.testing.assert_array_equal(parsed.positions, state.positions)
    np.testing.assert_array_equal(parsed.keys, state.keys)
    np.testing.assert_array_equal(parsed.values, state.values)
    assert parsed.keys.dtype == np.dtype(dtype)


def test_transposed_values_are_laid_out_one_channel_at_a_time():
    state = random_state(3, "float32", True)
    data = llama_state.serialize(state)
    header = 16 + 3 * 12 + 8 + LAYERS * (12 + 3 * WIDTH * 4)
    type_id, element_bytes, width = struct.unpack_from("<iII", data, header)
    assert (type_id, element_bytes, width) == (0, 4, WIDTH)
    first_channel = np.frombuffer(data, np.float32, count=3, offset=header + 12)
    np.testing.assert_array_equal(first_channel, state.values[0, :, 0])


def test_an_empty_state_has_no_layers():
    empty = llama_state.parse(struct.pack("<IiII", llama_state.MAGIC, 0, 1, 0), LAYERS, WIDTH)
    assert empty.cells == 0


@pytest.mark.parametrize("damage, message", [
    (lambda data: struct.pack("<I", 0x12345678) + data[4:], "magic"),
    (lambda data: data[:8] + struct.pack("<I", 2) + data[12:], "streams"),
    (lambda data: data[:-1], "ends at byte"),
    (lambda data: data + b"\0", "bytes follow"),
])
def test_damaged_states_are_refused(damage, message):
    data = llama_state.serialize(random_state(2, "float32", False))
    with pytest.raises(StateFormatError, match=message):
        llama_state.parse(damage(data), LAYERS, WIDTH)


def test_a_quantized_cache_is_refused_not_misread():
    data = bytearray(llama_state.serialize(random_state(2, "float32", False)))
    keys_type_offset = 16 + 2 * 12 + 8
    struct.pack_into("<i", data, keys_type_offset, 8)  # GGML_TYPE_Q8_0
    with pytest.raises(StateFormatError, match="ggml type 8"):
        llama_state.parse(bytes(data), LAYERS, WIDTH)


def test_a_model_of_another_shape_is_refused():
    data = llama_state.serialize(random_state(2, "float32", False))
    with pytest.raises(StateFormatError, match="layers"):
        llama_state.parse(data, LAYERS + 1, WIDTH)


def test_keys_of_the_permuted_projection_come_back_in_hugging_face_order():
    """What convert_to_gguf.py does to k_proj, keys_to_hf undoes on the keys llama.cpp caches."""
    generator = np.random.default_rng(1)
    k_proj = generator.standard_normal((WIDTH, 12))
    x = generator.standard_normal((4, 12))  # 4 tokens
    hf = (x @ k_proj.T).reshape(4, KV_HEADS, HEAD_DIM).transpose(1, 0, 2)[None]
    llamacpp_rows = (x @ permute_rows_for_pairs(k_proj, KV_HEADS).T)[None]
    np.testing.assert_array_equal(llama_state.keys_to_hf(llamacpp_rows, KV_HEADS), hf)
    np.testing.assert_array_equal(llama_state.keys_from_hf(hf), llamacpp_rows)
    assert not np.array_equal(llamacpp_rows, llama_state.values_from_hf(hf))  # the permutation is no identity


def test_values_keep_their_order():
    rows = np.arange(LAYERS * 3 * WIDTH, dtype=np.float32).reshape(LAYERS, 3, WIDTH)
    hf = llama_state.values_to_hf(rows, KV_HEADS)
    assert hf.shape == (LAYERS, KV_HEADS, 3, HEAD_DIM)
    assert hf[0, 1, 2, 3] == rows[0, 2, HEAD_DIM + 3]
    np.testing.assert_array_equal(llama_state.values_from_hf(hf), rows)
