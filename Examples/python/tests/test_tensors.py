"""Frame encoding: zero copy where possible, exact bf16 widening without ml_dtypes."""

from __future__ import annotations

import numpy as np
import pytest

from lomad_client import MalformedReply
from lomad_client.loma.v1 import tensor_pb2
from lomad_client.tensors import BFLOAT16, bf16_bits_to_array, decode_tensor, outgoing_kv


def test_a_contiguous_array_travels_without_a_copy():
    keys = np.ones((2, 2, 8, 8), dtype=np.float32)
    outgoing = outgoing_kv(keys, tensor_pb2.KV_LAYOUT_HEADS_MAJOR, "keys")
    assert np.shares_memory(outgoing.frame, keys)
    assert outgoing.frame.nbytes == keys.nbytes and outgoing.dtype == tensor_pb2.DTYPE_F32


def test_big_endian_arrays_are_sent_little_endian():
    keys = np.arange(16, dtype=">f4").reshape(1, 1, 4, 4)
    outgoing = outgoing_kv(keys, tensor_pb2.KV_LAYOUT_HEADS_MAJOR, "keys")
    assert outgoing.frame.tobytes() == np.arange(16, dtype="<f4").tobytes()


def test_bf16_round_trips_as_bits():
    values = np.array([1.0, -2.5, 3.140625, 1e-3], dtype=np.float32).reshape(1, 1, 2, 2)
    bf16 = values.astype(BFLOAT16)
    outgoing = outgoing_kv(bf16, tensor_pb2.KV_LAYOUT_HEADS_MAJOR, "keys")
    assert outgoing.dtype == tensor_pb2.DTYPE_BF16
    descriptor = tensor_pb2.TensorDescriptor(dtype=tensor_pb2.DTYPE_BF16, shape=[1, 1, 2, 2])
    decoded = decode_tensor(outgoing.frame.tobytes(), descriptor, "keys")
    np.testing.assert_array_equal(decoded.astype(np.float32), bf16.astype(np.float32))


def test_bf16_without_ml_dtypes_widens_exactly():
    bits = np.array([0x3F80, 0xC020, 0x0000, 0x7F80], dtype=np.uint16)  # 1, -2.5, 0, inf
    widened = bf16_bits_to_array(bits, bfloat16=None)
    assert widened.dtype == np.float32
    np.testing.assert_array_equal(widened, [1.0, -2.5, 0.0, np.inf])


def test_a_frame_of_the_wrong_size_is_malformed():
    descriptor = tensor_pb2.TensorDescriptor(dtype=tensor_pb2.DTYPE_F32, shape=[1, 1, 2, 2])
    with pytest.raises(MalformedReply, match="frame holds 12 bytes"):
        decode_tensor(b"\0" * 12, descriptor, "memory.keys")
