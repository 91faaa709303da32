"""The corpus split as a checkpoint's BPE token ids, cached per tokenizer.

Text is encoded paragraph by paragraph (paragraphs joined by the ids of "\n\n"), so the token
stream does not depend on how the text was chunked; the cache file is named by a digest of the
tokenizer's vocabulary and the split's bytes, so another tokenizer or corpus never reuses it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np

from .corpus import CorpusSplit

_CHUNK = 2048   # paragraphs per encode_batch call


def tokenizer_digest(tokenizer: Any) -> str:
    vocabulary = json.dumps(sorted(tokenizer.get_vocab().items()), ensure_ascii=False)
    return hashlib.sha256(vocabulary.encode("utf-8")).hexdigest()[:16]


def encode_text(tokenizer: Any, data: np.ndarray) -> np.ndarray:
    paragraphs = data.tobytes().decode("utf-8").split("\n\n")
    separator = tokenizer("\n\n", add_special_tokens=False).input_ids
    pieces: list[np.ndarray] = []
    for start in range(0, len(paragraphs), _CHUNK):
        encoded = tokenizer(paragraphs[start:start + _CHUNK], add_special_tokens=False).input_ids
        for ids in encoded:
            if pieces:
                pieces.append(np.asarray(separator, dtype=np.int32))
            pieces.append(np.asarray(ids, dtype=np.int32))
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int32)


def tokenized_split(split: CorpusSplit, tokenizer: Any, cache: Path) -> CorpusSplit:
    """`split` (bytes) as token ids (int32), built once per tokenizer and cached under `cache`."""
    corpus_digest = hashlib.sha256(split.train.tobytes() + b"\0" + split.held_out.tobytes()).hexdigest()[:16]
    tag = f"{tokenizer_digest(tokenizer)}-{corpus_digest}"
    paths = cache / f"train.{tag}.npy", cache / f"held_out.{tag}.npy"
    if not all(path.exists() for path in paths):
        cache.mkdir(parents=True, exist_ok=True)
        for data, path in zip((split.train, split.held_out), paths):
            temporary = path.with_suffix(".tmp.npy")
            np.save(temporary, encode_text(tokenizer, data))
            temporary.replace(path)
    return CorpusSplit(np.load(paths[0]), np.load(paths[1]))
