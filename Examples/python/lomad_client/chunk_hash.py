"""Chained chunk hashes that name published prefixes (docs/loma-spec.md 5, `PublishPrefixRequest`).

Chunk i covers tokens `[i*segment_length, (i+1)*segment_length)` and its hash is
`sha256(hash of chunk i-1 || token ids of chunk i as little-endian u32)`, the first chunk's
parent being 32 zero bytes. Chaining makes a chunk's hash name the whole prefix up to it, so two
processes agree on a hash only when every earlier token agrees too; sha256 (never a language's
built-in hash) makes every client, in any language, compute the same bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np

ROOT_HASH = bytes(32)


def chunk_hashes(token_ids: Sequence[int] | np.ndarray, segment_length: int) -> list[bytes]:
    """One 32-byte hash per whole chunk of `token_ids`; a trailing partial chunk has none."""
    if segment_length <= 0:
        raise ValueError(f"segment_length must be positive, got {segment_length}")
    tokens = np.asarray(token_ids)
    if tokens.ndim != 1:
        raise ValueError(f"token_ids must be one sequence of ids, got shape {list(tokens.shape)}")
    if tokens.size and (tokens.min() < 0 or tokens.max() > 0xFFFFFFFF):
        raise ValueError("token ids must fit in an unsigned 32-bit integer")
    encoded = tokens.astype("<u4")
    hashes: list[bytes] = []
    parent = ROOT_HASH
    for start in range(0, len(encoded) - segment_length + 1, segment_length):
        parent = hashlib.sha256(parent + encoded[start : start + segment_length].tobytes()).digest()
        hashes.append(parent)
    return hashes
