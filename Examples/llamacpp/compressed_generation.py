"""Greedy generation in llama.cpp whose KV cells are replaced by LoMA memory after every segment.

The same schedule as Examples/generation/generation.py, with llama.cpp holding the cache: tokens
are decoded so that no call crosses a segment boundary, and when a segment is complete

1. the sequence state is read out of llama.cpp (`llama_state_seq_get_data`),
2. the segment's cells (positions P .. P + segment_length - 1) go to lomad, which compresses them
   into a daemon sequence (so it reads the earlier memory as context, docs/loma-spec.md 3.3),
3. the state is written back (`llama_state_seq_set_data`) holding the earlier memory cells and the
   new memory cells at the positions lomad returns, P + (j+1)*ratio - 1, and no segment cells.

New tokens keep their true positions, so llama.cpp attends over memory at LoMA positions followed
by the current segment's raw cells: about 1/ratio of the cells for the positions covered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

import llama_state
from llamacpp_sequence import LlamaCppSequence

#: (keys, values `[layers, kv_heads, segment_length, head_dim]` f32 in Hugging Face order, first
#: position) -> (memory keys, memory values `[layers, kv_heads, t, head_dim]`, memory positions).
SegmentCompressor = Callable[[np.ndarray, np.ndarray, int], tuple[np.ndarray, np.ndarray, np.ndarray]]


@dataclass
class CacheReport:
    """What the llama.cpp sequence holds after a segment's memory was written back."""

    segments: int
    cells: int
    memory_cells: int
    positions_covered: int  # positions 0 .. positions_covered - 1 have gone through the model

    def line(self) -> str:
        return (f"[segment {self.segments} compressed: llama.cpp holds {self.cells} cells "
                f"({self.memory_cells} memory) for {self.positions_covered} positions]")


class LlamaCppLoMAGeneration:
    def __init__(self, sequence: LlamaCppSequence, segment_length: int, compression_ratio: int,
                 compress: SegmentCompressor, log: Callable[[str], None] | None = None):
        if segment_length % compression_ratio:
            raise ValueError(f"segment_length {segment_length} is not a multiple of the ratio {compression_ratio}")
        self.sequence, self.compress, self.log = sequence, compress, log
        self.segment_length, self.compression_ratio = segment_length, compression_ratio
        self.position = 0  # of the next token
        self.raw_tokens = 0  # of the current segment, held as plain cells
        self.reports: list[CacheReport] = []

    def feed(self, token_ids: list[int]) -> np.ndarray:
        """Decodes `token_ids`, compressing each segment they complete; logits of the last one."""
        ids = [int(token) for token in token_ids]
        if not ids:
            raise ValueError("feed needs at least one token")
        logits = None
        while ids:
            room = self.segment_length - self.raw_tokens
            chunk, ids = ids[:room], ids[room:]
            logits = self.sequence.decode(chunk, self.position)
            self.position += len(chunk)
            self.raw_tokens += len(chunk)
            if self.raw_tokens == self.segment_length:
                self._compress_segment()
        return logits

    def greedy(self, prompt_ids: list[int], max_new_tokens: int) -> Iterator[tuple[int, np.ndarray]]:
        """Yields each chosen token with the logits it was chosen from."""
        logits = self.feed(prompt_ids)
        for step in range(max_new_tokens):
            token = int(np.argmax(logits))
            yield token, logits
            if step == max_new_tokens - 1:
                return  # the last token's KV is never needed
            logits = self.feed([token])

    def _compress_segment(self) -> None:
        start = self.position - self.segment_length
        state = self.sequence.state()
        in_segment = state.positions >= start
        segment = state.select(in_segment).sorted_by_position()
        expected = np.arange(start, self.position, dtype=np.int32)
        if not np.array_equal(segment.positions, expected):
            raise RuntimeError(f"llama.cpp holds positions {segment.positions.tolist()} for the segment at {start}")
        kv_heads = self.sequence.kv_heads
        keys = llama_state.keys_to_hf(segment.keys.astype(np.float32), kv_heads)
        values = llama_state.values_to_hf(segment.values.astype(np.float32), kv_heads)
        memory_keys, memory_values, positions = self.compress(keys, values, start)
        tokens = self.segment_length // self.compression_ratio
        lomad_positions = start + (np.arange(tokens) + 1) * self.compression_ratio - 1  # docs/loma-spec.md 3.2
        if not np.array_equal(np.asarray(positions), lomad_positions):
            raise RuntimeError(f"memory positions {list(positions)} are not the LoMA positions {lomad_positions.tolist()}")
        memory = llama_state.SequenceState(
            state.seq_id, lomad_positions.astype(np.int32),
            llama_state.keys_from_hf(np.asarray(memory_keys)).astype(state.keys.dtype),
            llama_state.values_from_hf(np.asarray(memory_values)).astype(state.values.dtype),
            state.v_transposed,
        )
        held = state.select(~in_segment)
        self.sequence.replace_state(held.followed_by(memory))
        self.raw_tokens = 0
        # Read back what llama.cpp now holds: exactly the memory cells, at exactly their positions.
        after = self.sequence.state()
        written = np.sort(np.concatenate((held.positions, memory.positions)))
        if not np.array_equal(np.sort(after.positions), written):
            raise RuntimeError(f"llama.cpp holds positions {sorted(after.positions.tolist())} after the write-back")
        report = CacheReport(len(self.reports) + 1, after.cells, len(written), self.position)
        self.reports.append(report)
        if self.log:
            self.log(report.line())
