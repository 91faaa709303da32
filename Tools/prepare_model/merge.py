"""Applying a delta to base tensors, bit-reproducibly.

A matrix product's rounding depends on the BLAS library, its version and the CPU's vector width,
and the recorded sha256 of the result must hold on every machine. So the LoRA update is built in
float64 one rank at a time from elementwise products only (no matmul, einsum or dot):
`W64 += scale * (B64[:, k:k+1] * A64[k:k+1, :])` for k = 0..rank-1, then rounded once to float32.
Each step is one IEEE multiply or add per element, which numpy computes identically everywhere.
"""

from __future__ import annotations

import numpy as np

from .delta import Delta, DeltaError


def lora_merged(weight: np.ndarray, a: np.ndarray, b: np.ndarray, scale: float, name: str) -> np.ndarray:
    """`weight + scale * b @ a` (weight `[out, in]`, a `[rank, in]`, b `[out, rank]`) as float32."""
    out_features, in_features = weight.shape
    if a.shape[1] != in_features or b.shape[0] != out_features or a.shape[0] != b.shape[1]:
        raise DeltaError(
            f"{name}: lora_A {list(a.shape)} / lora_B {list(b.shape)} do not fit the base weight {list(weight.shape)}")
    merged = weight.astype(np.float64)
    for k in range(a.shape[0]):
        merged += scale * (b[:, k : k + 1] * a[k : k + 1, :])
    return merged.astype(np.float32)


def with_new_rows(base: np.ndarray, rows: np.ndarray | None, name: str) -> np.ndarray:
    """The base embedding (or untied LM head) with the delta's rows for the added tokens appended."""
    if rows is None:
        return base
    if rows.ndim != 2 or rows.shape[1] != base.shape[1]:
        raise DeltaError(f"{name}: new rows {list(rows.shape)} do not fit the base {list(base.shape)}")
    return np.concatenate((base, rows.astype(np.float32)), axis=0)


def result_tensor(name: str, base_tensor, delta: Delta) -> np.ndarray:
    """Tensor `name` of the fine-tuned model; `base_tensor()` gives the base's float32 values
    (called only when the delta does not carry the tensor whole)."""
    if name in delta.replaced:
        return delta.tensors[name].as_float32()
    if name == "model.embed_tokens.weight":
        rows = delta.tensors.get("model.embed_tokens.new_rows")
        return with_new_rows(base_tensor(), None if rows is None else rows.as_float32(), name)
    if name == "lm_head.weight":
        rows = delta.tensors.get("lm_head.new_rows")
        if rows is None and delta.new_token_rows:
            raise DeltaError(f"{delta.directory}: the base has an untied lm_head but the delta has no lm_head.new_rows")
        return with_new_rows(base_tensor(), None if rows is None else rows.as_float32(), name)
    factors = delta.lora_factors(name)
    if factors is None:
        return base_tensor()
    return lora_merged(base_tensor(), factors[0], factors[1], delta.scale, name)
