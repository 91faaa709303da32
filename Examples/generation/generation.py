"""Greedy generation whose KV cache is compressed with LoMA after every segment.

The cache holds memory KV (every compressed segment, in order) followed by the raw KV of the
tokens not compressed yet. Tokens are fed so that no forward call crosses a segment boundary:
each segment's tokens attend to the memory of the earlier segments and causally to themselves
(the reading zone of docs/loma-spec.md 3.4), and as soon as a segment is complete its raw KV is replaced
by the memory the compressor returns. Positions stay absolute, so the cache shrinks to about
1/ratio of its size while new tokens keep their true positions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from llama_numpy import KV, LlamaModel

Compressor = Callable[[KV, int, KV], KV]


@dataclass
class CompressedCache:
    memory: KV
    raw: KV
    position: int  # absolute position of the next token
    compressed_segments: int = 0

    @property
    def tokens(self) -> int:
        return self.memory.tokens + self.raw.tokens


@dataclass
class Generation:
    model: LlamaModel
    compress: Compressor
    cache: CompressedCache = field(init=False)
    log: Callable[[str], None] | None = None
    forwarded_tokens: int = 0  # tokens run through the model, prompt included

    def __post_init__(self) -> None:
        empty = KV.empty(self.model.config)
        self.cache = CompressedCache(memory=empty, raw=empty, position=0)

    @property
    def segment_length(self) -> int:
        return self.model.config.loma.segment_length

    def start_from_memory(self, memory: KV, position: int, segments: int) -> None:
        """Continue after `segments` segments whose memory was computed elsewhere (a shared prefix)."""
        self.cache = CompressedCache(memory=memory, raw=KV.empty(self.model.config), position=position,
                                     compressed_segments=segments)

    def feed(self, token_ids) -> np.ndarray:
        """Runs `token_ids` through the model, compressing each segment they complete; returns the
        logits of the last one."""
        ids = [int(i) for i in token_ids]
        if not ids:
            raise ValueError("feed needs at least one token")
        logits = None
        while ids:
            room = self.segment_length - self.cache.raw.tokens
            chunk, ids = ids[:room], ids[room:]
            positions = np.arange(self.cache.position, self.cache.position + len(chunk))
            all_logits, new = self.model.forward(np.array(chunk), positions, self.cache.memory + self.cache.raw)
            logits = all_logits[-1]
            self.forwarded_tokens += len(chunk)
            self.cache.raw = self.cache.raw + new
            self.cache.position += len(chunk)
            if self.cache.raw.tokens == self.segment_length:
                self._compress_raw_segment()
        return logits

    def _compress_raw_segment(self) -> None:
        start = self.cache.position - self.segment_length
        memory = self.compress(self.cache.raw, start, self.cache.memory)
        expected = self.model.config.loma.memory_tokens
        if memory.tokens != expected:
            raise RuntimeError(f"compressor returned {memory.tokens} memory tokens for one segment; expected {expected}")
        self.cache.memory = self.cache.memory + memory
        self.cache.raw = KV.empty(self.model.config)
        self.cache.compressed_segments += 1
        if self.log:
            self.log(
                f"[segment {self.cache.compressed_segments} compressed: cache holds {self.cache.tokens} tokens "
                f"({self.cache.memory.tokens} memory + {self.cache.raw.tokens} raw) for {self.cache.position} positions]"
            )

    def greedy(self, prompt_ids, max_new_tokens: int, stop_ids=()) -> Iterator[int]:
        """Yields each new token as it is chosen."""
        logits = self.feed(prompt_ids)
        for step in range(max_new_tokens):
            token = int(np.argmax(logits))
            yield token
            if token in stop_ids or step == max_new_tokens - 1:
                return  # the last token's KV is never needed
            logits = self.feed([token])
