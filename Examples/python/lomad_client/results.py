"""What the client's operations return, as plain Python values instead of protobuf messages."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .loma.v1 import operations_pb2, tensor_pb2

_LAYOUT_NAMES = {
    tensor_pb2.KV_LAYOUT_HEADS_MAJOR: "heads_major",
    tensor_pb2.KV_LAYOUT_TOKENS_MAJOR: "tokens_major",
    tensor_pb2.KV_LAYOUT_UNSPECIFIED: "heads_major",  # the protocol's default
}


def layout_name(code: int) -> str:
    return _LAYOUT_NAMES.get(code, f"layout {code}")


@dataclass(frozen=True)
class Memory:
    """Memory-token KV that replaces compressed segments in a cache.

    keys/values: `[layers, kv_heads, tokens, head_dim]` (heads_major) or
    `[layers, tokens, kv_heads, head_dim]` (tokens_major), read-only views of the reply frames.
    positions: the absolute position of every memory token, in order.
    """

    keys: np.ndarray
    values: np.ndarray
    positions: np.ndarray
    segments: int
    layout: str

    @property
    def tokens(self) -> int:
        return int(self.positions.shape[0])


@dataclass(frozen=True)
class SequenceInfo:
    name: str
    model: str
    segments: int
    memory_tokens: int
    next_position: int  # where the next compressed segment starts
    bytes: int

    @classmethod
    def from_proto(cls, info: operations_pb2.SequenceInfo) -> "SequenceInfo":
        return cls(info.name, info.model, info.segments, info.memory_tokens, info.next_position, info.bytes)
