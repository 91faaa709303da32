"""torch tensors in and out of the client: zero copy where the layout allows, f32/f16/bf16 native,
checked against the golden cases through a real daemon."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from testing_support import GoldenCase, relative_error
from lomad_client.loma.v1 import tensor_pb2
from lomad_client.tensors import bf16_bits_to_array, decode_tensor, outgoing_kv
from lomad_client.torch_tensors import to_torch

TORCH_DTYPES = {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}
WIRE_CODES = {"f32": tensor_pb2.DTYPE_F32, "f16": tensor_pb2.DTYPE_F16, "bf16": tensor_pb2.DTYPE_BF16}


def as_torch(array: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
    return torch.from_numpy(np.asarray(array, dtype=np.float32).copy()).to(dtype)


@pytest.mark.parametrize("name", ["f32", "f16", "bf16"])
def test_a_contiguous_cpu_tensor_travels_without_a_copy(name):
    keys = torch.arange(2 * 2 * 8 * 4, dtype=torch.float32).reshape(2, 2, 8, 4).to(TORCH_DTYPES[name])
    outgoing = outgoing_kv(keys, tensor_pb2.KV_LAYOUT_HEADS_MAJOR, "keys")
    assert outgoing.frame.ctypes.data == keys.data_ptr()
    assert outgoing.frame.nbytes == keys.numel() * keys.element_size()
    assert outgoing.dtype == WIRE_CODES[name] and outgoing.shape == (2, 2, 8, 4)


@pytest.mark.parametrize("name", ["f32", "f16", "bf16"])
def test_frames_decode_back_to_the_same_tensor(name):
    """The wire bits are the tensor's own: bf16 goes out and comes back without a widening detour."""
    keys = torch.randn(1, 2, 3, 4, generator=torch.Generator().manual_seed(1)).to(TORCH_DTYPES[name])
    outgoing = outgoing_kv(keys, tensor_pb2.KV_LAYOUT_HEADS_MAJOR, "keys")
    descriptor = tensor_pb2.TensorDescriptor(dtype=outgoing.dtype, shape=list(outgoing.shape))
    decoded = to_torch(decode_tensor(outgoing.frame.tobytes(), descriptor, "keys"), wire_dtype=name)
    assert decoded.dtype == keys.dtype
    assert torch.equal(decoded, keys)


def test_a_strided_tensor_is_made_contiguous_first():
    contiguous = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)
    view = contiguous.transpose(1, 2)
    assert not view.is_contiguous()
    outgoing = outgoing_kv(view, tensor_pb2.KV_LAYOUT_TOKENS_MAJOR, "keys")
    assert outgoing.shape == (2, 4, 3, 5)
    assert outgoing.frame.tobytes() == view.contiguous().numpy().tobytes()


def test_a_tensor_that_needs_grad_is_sent_detached():
    keys = torch.ones(1, 1, 2, 2, requires_grad=True)
    assert outgoing_kv(keys, tensor_pb2.KV_LAYOUT_HEADS_MAJOR, "keys").frame.nbytes == 16


@pytest.mark.parametrize("tensor, error, message", [
    (torch.ones(1, 1, 2, 2, dtype=torch.float64), TypeError, r"keys has dtype torch.float64; send torch.float32"),
    (torch.ones(1, 1, 2, dtype=torch.int32), ValueError, r"keys has shape \[1, 1, 2\]; KV tensors have 4 axes"),
    (torch.ones(1, 1, 2, 2, dtype=torch.int64), TypeError, r"keys has dtype torch.int64"),
])
def test_bad_tensors_get_a_clear_error(tensor, error, message):
    with pytest.raises(error, match=message):
        outgoing_kv(tensor, tensor_pb2.KV_LAYOUT_HEADS_MAJOR, "keys")


def test_reply_tensors_share_the_frame():
    frame = np.arange(8, dtype=np.float32).tobytes()
    descriptor = tensor_pb2.TensorDescriptor(dtype=tensor_pb2.DTYPE_F32, shape=[1, 1, 2, 4])
    array = decode_tensor(frame, descriptor, "keys")
    tensor = to_torch(array)
    assert tensor.data_ptr() == array.ctypes.data
    assert tensor.shape == (1, 1, 2, 4) and tensor.dtype == torch.float32


@pytest.mark.parametrize("name", ["f32", "f16", "bf16"])
def test_compress_takes_and_returns_torch_tensors(client, name):
    """The golden case sent as torch tensors (heads-major, with context) gives the golden memory,
    and the reply comes back as torch tensors of the dtype asked for."""
    case = GoldenCase.load("llama_head_dim_context")
    dtype = TORCH_DTYPES[name]
    context = None
    if case.context is not None:
        context = (as_torch(case.context[0], dtype), as_torch(case.context[1], dtype))
    memory = client.compress(as_torch(case.keys, dtype), as_torch(case.values, dtype), context=context,
                             model=case.model, position=case.position, layout=case.layout, output_dtype=name)
    keys, values = memory.torch()
    assert keys.dtype == dtype and values.dtype == dtype
    assert keys.shape == case.expected_keys.shape
    tolerance = {"f32": 1e-4, "f16": 5e-3, "bf16": 3e-2}[name]  # inputs rounded to the dtype, then the output
    assert relative_error(keys.float().numpy(), case.expected_keys) < tolerance
    assert relative_error(values.float().numpy(), case.expected_values) < tolerance
    np.testing.assert_array_equal(memory.positions, case.expected_positions)


def test_torch_and_numpy_inputs_give_the_same_memory(client):
    case = GoldenCase.load("llama_gqa_single")
    from_numpy = client.compress(case.keys, case.values, model=case.model, position=case.position,
                                 layout=case.layout, output_dtype="f32")
    from_torch = client.compress(torch.from_numpy(np.array(case.keys)), torch.from_numpy(np.array(case.values)),
                                 model=case.model, position=case.position, layout=case.layout, output_dtype="f32")
    np.testing.assert_array_equal(from_torch.keys, from_numpy.keys)
    np.testing.assert_array_equal(from_torch.values, from_numpy.values)


def test_read_memory_as_torch_on_a_device(client):
    """`Memory.torch(device)` places the tensors (here the CPU, the only device CI has)."""
    case = GoldenCase.load("llama_gqa_single")
    sequence = "torch-read"
    client.compress(torch.from_numpy(np.array(case.keys)), torch.from_numpy(np.array(case.values)),
                    model=case.model, sequence=sequence, position=case.position, layout=case.layout)
    try:
        found, info = client.read_memory(sequence, output_dtype="bf16")
        assert found is not None and info.segments == case.segments
        keys, _ = found.torch(device="cpu")
        assert keys.dtype == torch.bfloat16 and keys.device.type == "cpu"
        assert relative_error(keys.float().numpy(), case.expected_keys) < 1e-2
    finally:
        client.delete_sequence(sequence)


def test_bf16_replies_are_bf16_tensors_without_ml_dtypes_too():
    """Without ml_dtypes the client widens BF16 to float32; torch gets BF16 back, exactly."""
    bits = np.array([0x3F80, 0xC020, 0x0000, 0x7F80], dtype=np.uint16).reshape(1, 1, 2, 2)  # 1, -2.5, 0, inf
    widened = bf16_bits_to_array(bits, bfloat16=None)
    tensor = to_torch(widened, wire_dtype="bf16")
    assert tensor.dtype == torch.bfloat16
    assert tensor.view(torch.int16).flatten().tolist() == [0x3F80, 0xC020 - 0x10000, 0, 0x7F80]
