"""numpy arrays to and from loma.v1 tensor frames.

A tensor travels as the raw little-endian bytes of its own frame, described in the envelope.
Arrays are sent as they are whenever they are already C-contiguous little-endian (the frame then
shares the array's memory: a large KV block is never copied on the Python side), and received
arrays are read-only views of the frames they arrived in (copy with `np.array(x)` to write).

numpy has no bfloat16. Arrays of `ml_dtypes.bfloat16` (the type JAX and TensorFlow use) are sent
as BF16; BF16 replies come back as `ml_dtypes.bfloat16` when that package is installed and are
otherwise widened to float32, which is exact.

torch tensors (CPU or not; float32, float16, bfloat16) are accepted wherever arrays are, through
`torch_tensors` (torch is only imported when a tensor is passed).
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union, cast

import numpy as np

from .errors import MalformedReply
from .loma.v1 import tensor_pb2
from .torch_tensors import is_torch_tensor, tensor_bytes, wire_dtype_name

if TYPE_CHECKING:  # pragma: no cover - torch is an optional extra
    import torch

# What the client sends as KV: a numpy array or a torch tensor (see torch_tensors).
KVTensor = Union[np.ndarray, "torch.Tensor"]

try:  # optional: the only widespread numpy bfloat16
    import ml_dtypes

    BFLOAT16: np.dtype | None = np.dtype(ml_dtypes.bfloat16)
except ImportError:  # pragma: no cover - exercised by environments without ml_dtypes
    BFLOAT16 = None

_DTYPE_NAMES = {
    "f32": tensor_pb2.DTYPE_F32,
    "f16": tensor_pb2.DTYPE_F16,
    "bf16": tensor_pb2.DTYPE_BF16,
}
_LAYOUT_NAMES = {
    "heads_major": tensor_pb2.KV_LAYOUT_HEADS_MAJOR,
    "tokens_major": tensor_pb2.KV_LAYOUT_TOKENS_MAJOR,
}
_WIRE_DTYPES: dict[int, np.dtype] = {
    tensor_pb2.DTYPE_F32: np.dtype("<f4"),
    tensor_pb2.DTYPE_F16: np.dtype("<f2"),
    tensor_pb2.DTYPE_BF16: np.dtype("<u2"),  # bit patterns until decoded
    tensor_pb2.DTYPE_I64: np.dtype("<i8"),
}


def dtype_code(dtype: str | int | None) -> tensor_pb2.DType:
    """`"f32"`, `"f16"`, `"bf16"` or a `loma.v1.DType` value; None means unspecified."""
    if dtype is None:
        return tensor_pb2.DTYPE_UNSPECIFIED
    if isinstance(dtype, str):
        if dtype not in _DTYPE_NAMES:
            raise ValueError(f"dtype {dtype!r} is not one of {', '.join(_DTYPE_NAMES)}")
        return _DTYPE_NAMES[dtype]
    if dtype not in tensor_pb2.DType.values():
        raise ValueError(f"dtype {dtype!r} is not a loma.v1.DType value")
    return cast(tensor_pb2.DType, int(dtype))


def dtype_name(code: int) -> str:
    """The name (`"f32"`, `"f16"`, `"bf16"`) of a `loma.v1.DType` value; empty for any other."""
    return next((name for name, value in _DTYPE_NAMES.items() if value == code), "")


def layout_code(layout: str | int | None) -> tensor_pb2.KVLayout:
    """`"heads_major"`, `"tokens_major"` or a `loma.v1.KVLayout` value; None means unspecified."""
    if layout is None:
        return tensor_pb2.KV_LAYOUT_UNSPECIFIED
    if isinstance(layout, str):
        if layout not in _LAYOUT_NAMES:
            raise ValueError(f"layout {layout!r} is not one of {', '.join(_LAYOUT_NAMES)}")
        return _LAYOUT_NAMES[layout]
    if layout not in tensor_pb2.KVLayout.values():
        raise ValueError(f"layout {layout!r} is not a loma.v1.KVLayout value")
    return cast(tensor_pb2.KVLayout, int(layout))


def _wire_dtype_of(array: np.ndarray, what: str) -> tensor_pb2.DType:
    if array.dtype == np.dtype("<f4"):
        return tensor_pb2.DTYPE_F32
    if array.dtype == np.dtype("<f2"):
        return tensor_pb2.DTYPE_F16
    if BFLOAT16 is not None and array.dtype == BFLOAT16:
        return tensor_pb2.DTYPE_BF16
    raise TypeError(
        f"{what} has dtype {array.dtype}; send float32, float16 or ml_dtypes.bfloat16 "
        "(convert other types with .astype(np.float32))"
    )


@dataclass(frozen=True)
class OutgoingTensor:
    """A tensor ready to travel: its frame (a byte view of the array) and descriptor fields."""

    frame: np.ndarray  # uint8, shares memory with the caller's array when it could
    dtype: tensor_pb2.DType
    shape: tuple[int, ...]
    layout: tensor_pb2.KVLayout

    def describe(self, descriptor: tensor_pb2.TensorDescriptor, frame_index: int) -> None:
        descriptor.dtype = self.dtype
        descriptor.shape[:] = self.shape
        descriptor.layout = self.layout
        descriptor.frame = frame_index


def outgoing_kv(array: KVTensor, layout: tensor_pb2.KVLayout, what: str) -> OutgoingTensor:
    """A 4-axis KV tensor (a numpy array or a torch tensor) as a frame. Copies only when the array
    is strided or big-endian, or the tensor is strided or not in host memory."""
    if is_torch_tensor(array):
        return _outgoing_torch(array, layout, what)
    if not isinstance(array, np.ndarray):
        raise TypeError(f"{what} must be a numpy array or a torch tensor, got {type(array).__name__}")
    if array.ndim != 4:
        raise ValueError(f"{what} has shape {list(array.shape)}; KV tensors have 4 axes")
    if array.dtype.byteorder == ">" or (array.dtype.byteorder == "=" and sys.byteorder == "big"):
        array = array.astype(array.dtype.newbyteorder("<"))
    dtype = _wire_dtype_of(array, what)
    array = np.ascontiguousarray(array)
    return OutgoingTensor(array.reshape(-1).view(np.uint8), dtype, tuple(int(s) for s in array.shape), layout)


def _outgoing_torch(tensor: Any, layout: tensor_pb2.KVLayout, what: str) -> OutgoingTensor:
    if tensor.dim() != 4:
        raise ValueError(f"{what} has shape {list(tensor.shape)}; KV tensors have 4 axes")
    dtype = _DTYPE_NAMES[wire_dtype_name(tensor, what)]
    return OutgoingTensor(tensor_bytes(tensor, what), dtype, tuple(int(s) for s in tensor.shape), layout)


def decode_tensor(buffer, descriptor: tensor_pb2.TensorDescriptor, what: str) -> np.ndarray:
    """The array a reply frame holds, without copying it (BF16 without ml_dtypes is widened)."""
    wire = _WIRE_DTYPES.get(descriptor.dtype)
    if wire is None:
        raise MalformedReply(f"{what} has dtype {descriptor.dtype}, which this client cannot read")
    shape = tuple(int(s) for s in descriptor.shape)
    # math.prod on Python ints: numpy's reduction costs more than the rest of the decode here.
    expected = math.prod(shape) * wire.itemsize
    if len(buffer) != expected:
        raise MalformedReply(f"{what} has shape {list(shape)} ({expected} bytes) but its frame holds {len(buffer)} bytes")
    array = np.frombuffer(buffer, dtype=wire).reshape(shape)
    if descriptor.dtype == tensor_pb2.DTYPE_BF16:
        array = bf16_bits_to_array(array)
    # Read-only whether or not the frame's buffer is: the frame may be shared with other views,
    # and a write would change what another holder of the reply sees.
    array.flags.writeable = False
    return array


def bf16_bits_to_array(bits: np.ndarray, bfloat16: np.dtype | None = BFLOAT16) -> np.ndarray:
    """bf16 bit patterns as `bfloat16` (a view) or, without it, as exactly widened float32."""
    if bfloat16 is not None:
        return bits.view(bfloat16)
    return (bits.astype(np.uint32) << 16).view(np.float32)
