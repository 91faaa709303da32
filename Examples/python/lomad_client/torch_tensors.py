"""torch tensors to and from loma.v1 tensor frames, without importing torch unless one is used.

torch is an optional extra (`pip install "lomad-client[torch]"`): this module never imports it
at load time, so `tensors.outgoing_kv` can ask `is_torch_tensor` about any argument cheaply.

Outgoing: a CPU tensor that is already contiguous travels as a byte view of its own storage (no
copy); a strided one is made contiguous first; a CUDA (or other device) tensor is copied to host
memory once, since ZeroMQ sends from host memory. float32, float16 and bfloat16 go as they are:
bfloat16 needs no ml_dtypes detour, the frame is the tensor's own bits.

Incoming: `to_torch` turns a decoded reply array into a tensor that shares the frame's memory
(`torch.from_numpy`), bfloat16 included (its bits are reinterpreted, not converted). torch has no
read-only tensors: writing to one writes into the reply frame, so `.clone()` a tensor you mean
to modify and keep the frame's other views.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover - annotations only
    import torch


def is_torch_tensor(value: object) -> bool:
    """True for a `torch.Tensor`, decided by its type's module so numpy-only callers never pay
    for importing torch."""
    module = type(value).__module__
    return module == "torch" or module.startswith("torch.")


def wire_dtype_name(tensor: "torch.Tensor", what: str) -> str:
    """`"f32"`, `"f16"` or `"bf16"` for the dtypes loma.v1 carries; TypeError for any other."""
    import torch

    names = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16"}
    name = names.get(tensor.dtype)
    if name is None:
        raise TypeError(
            f"{what} has dtype {tensor.dtype}; send torch.float32, torch.float16 or torch.bfloat16 "
            "(convert other types with .float())"
        )
    return name


def tensor_bytes(tensor: "torch.Tensor", what: str) -> np.ndarray:
    """The tensor's bytes as a uint8 numpy array, sharing its storage when it is a contiguous
    CPU tensor. The caller keeps `tensor` alive while the frame is in use (the frame's array
    holds a reference to the storage through numpy's base chain)."""
    wire_dtype_name(tensor, what)
    if tensor.requires_grad:
        tensor = tensor.detach()
    if tensor.device.type != "cpu":
        tensor = tensor.to("cpu")
    tensor = tensor.contiguous()
    import torch

    # uint8 view of the storage: no copy, whatever the element type (bf16 included).
    return tensor.reshape(-1).view(torch.uint8).numpy()


def to_torch(array: np.ndarray, device: "torch.device | str | None" = None, wire_dtype: str = "") -> "torch.Tensor":
    """A decoded reply array as a torch tensor sharing its memory (a copy only when `device` is
    not the CPU). `wire_dtype` "bf16" marks an array that travelled as BF16: ml_dtypes.bfloat16
    arrays are reinterpreted as torch.bfloat16 without a copy, and the float32 arrays the
    client widens BF16 to without ml_dtypes are narrowed back, which is exact."""
    import torch

    shared: Any = array
    bf16 = array.dtype.name == "bfloat16"  # ml_dtypes.bfloat16: not a dtype numpy or torch.from_numpy knows
    if bf16:
        shared = array.view(np.uint16)
    with warnings.catch_warnings():
        # Reply arrays are read-only views of their frames and torch has no read-only tensors;
        # the module docstring tells callers to clone before writing, so the warning adds nothing.
        warnings.filterwarnings("ignore", message=".*not writable.*", category=UserWarning)
        tensor = torch.from_numpy(shared)
    if bf16:
        tensor = tensor.view(torch.bfloat16)
    elif wire_dtype == "bf16" and tensor.dtype == torch.float32:
        tensor = tensor.to(torch.bfloat16)
    if device is not None and torch.device(device) != tensor.device:
        tensor = tensor.to(device)
    return tensor
