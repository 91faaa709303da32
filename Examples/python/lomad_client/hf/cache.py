"""`LomadCache`: a transformers `Cache` whose full segments are compressed by lomad.

What it holds, per layer and batch row, in slot order (docs/loma-spec.md 3.3 and 3.4):

    [inline memory | sequence memory | raw tail]

- *inline memory*: memory the daemon does not keep in the row's sequence (a prefix found with
  `lookup_prefix`); every compress sends it along as context.
- *sequence memory*: what lomad appended to the row's sequence, one block of
  `segment_length / compression_ratio` tokens per compressed segment.
- *raw tail*: the KV of the tokens since the last segment boundary, as the model computed them.

As soon as the raw tail holds a whole segment, at the last layer's `update` (when every layer's KV
of the segment exists) the tail goes to lomad in one `compress` into the row's sequence, all
layers in one request, and the returned memory replaces it. The forward that completed the segment
still attends to the raw tail: the replacement happens after its tensors are handed back.

Positions stay absolute while the cache is shorter than them, and that takes two lengths:

- `get_seq_length()` is the number of tokens the cache stands for (the absolute position of the
  next token). `generate()` and the models derive from it what they derive from a cache length:
  which input ids are new, the position ids (`arange(past, past + q)`, or the attention mask's
  cumulative sum, both absolute), and in transformers 4.x the `cache_position`.
- `get_mask_sizes()` reports the slots physically held, `kv_length = held + q`, with
  `kv_offset = covered - held`: the causal mask compares slot `j + kv_offset` with the query's
  absolute position, so every memory slot is visible to every new token and the new tokens see
  each other causally, exactly as in the reading zone of docs/loma-spec.md 3.4.

A forward may not cross a segment boundary: the tokens after it must attend to the memory of the
segment before it, which exists only after that segment's last token went through every layer.
`update` refuses such a forward with an error that says how to feed it (`prefill`, or
`generate(..., prefill_chunk_size=cache.prefill_chunk_size)` on transformers 5).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch
from transformers.cache_utils import Cache, DynamicLayer

from ..client import Client
from ..errors import NotFound
from ..results import Memory, ModelInfo

_WIRE_NAMES = {torch.float32: "f32", torch.float16: "f16", torch.bfloat16: "bf16"}


class LomadCache(Cache):
    """A KV cache for Llama/Qwen2 LoMA checkpoints whose memory lomad computes and keeps.

    `sequence` names the lomad sequence of each batch row (a string for batch size 1). With
    `resume` (the default) a sequence that already exists, written by this process or any other,
    is continued from its memory: the cache then stands for `next_position` tokens already.
    `model` names the checkpoint in the daemon (empty: its only model); it must be the checkpoint
    the transformers model was loaded from (docs/loma-spec.md 3.1), which the daemon's shapes
    (layers, KV heads, head size) are checked against at the first update. `ttl_seconds` goes
    with every compress: the sequence expires that long after the append (docs/store.md, "TTL");
    0 keeps its current expiry.

        cache = LomadCache(client, sequence="chat-1")
        output = model.generate(ids, past_key_values=cache, max_new_tokens=64,
                                prefill_chunk_size=cache.prefill_chunk_size)
        cache.prefill(model, ids); model.generate(ids, past_key_values=cache, ...)  # the same, by hand
    """

    def __init__(self, client: Client, sequence: str | Sequence[str], *, model: str = "", resume: bool = True,
                 ttl_seconds: int = 0):
        names = [sequence] if isinstance(sequence, str) else list(sequence)
        if not names or any(not isinstance(name, str) or not name for name in names):
            raise ValueError(f"sequence must be a non-empty name or a list of them, got {sequence!r}")
        if len(set(names)) != len(names):
            raise ValueError(f"each batch row needs a sequence of its own; {names} repeats one")
        self.client = client
        self.sequences = names
        self.model_name = model
        self.ttl_seconds = ttl_seconds
        self.info: ModelInfo = client.model_info(model)
        super().__init__(layers=[DynamicLayer() for _ in range(self.info.layers)])
        self.covered = 0  # tokens the cache stands for: the absolute position of the next one
        self.inline_tokens = 0  # leading memory slots the sequences do not hold
        self.memory_tokens = 0  # all memory slots, inline ones included
        self.raw_tokens = 0
        self.segments = 0  # segments compressed into the sequences
        self._pending = 0  # tokens of the forward under way, counted at layer 0
        # Memory to place in front once the first update tells the model's dtype and device.
        self._staged: list[tuple[torch.Tensor, torch.Tensor]] | None = None
        if resume:
            self._resume()

    # ---- what a caller asks ----------------------------------------------------------------

    @property
    def segment_length(self) -> int:
        return self.info.segment_length

    @property
    def batch_rows(self) -> int:
        return len(self.sequences)

    @property
    def prefill_chunk_size(self) -> int:
        """A chunk size for `generate(..., prefill_chunk_size=)` (transformers' chunked prefill,
        4.5x and 5.x) whose chunks all end on or before a segment boundary, whatever the raw
        tail already holds: it divides both the segment length and the room left in it."""
        return math.gcd(self.segment_length, self.raw_tokens) or self.segment_length

    @property
    def held_tokens(self) -> int:
        """Slots physically held per layer and row: memory plus raw tail."""
        return self.memory_tokens + self.raw_tokens

    def room(self) -> int:
        """Tokens the next forward may carry without crossing a segment boundary."""
        return self.segment_length - self.raw_tokens

    def prefill(self, model: Any, input_ids: torch.Tensor) -> torch.Tensor | None:
        """Runs the ids of `input_ids` (`[rows, tokens]`, the whole conversation) that the cache
        does not cover yet, all but the last, through `model` in chunks that end on segment
        boundaries, and returns the last chunk's logits (None when there was nothing to run).
        `model.generate(input_ids, past_key_values=cache)` then runs only the last token, on any
        transformers version."""
        if input_ids.dim() != 2 or input_ids.shape[0] != self.batch_rows:
            raise ValueError(f"input_ids must be [{self.batch_rows}, tokens], got {list(input_ids.shape)}")
        if input_ids.shape[1] <= self.covered:
            return None
        return self.feed(model, input_ids[:, self.covered:-1]) if input_ids.shape[1] - 1 > self.covered else None

    def feed(self, model: Any, new_ids: torch.Tensor) -> torch.Tensor | None:
        """Runs `new_ids` (`[rows, tokens]`, all new to the cache) through `model` in chunks that end
        on segment boundaries; returns the last chunk's logits `[rows, tokens, vocab]`."""
        logits = None
        start = 0
        while start < new_ids.shape[1]:
            chunk = new_ids[:, start:start + self.room()]
            positions = torch.arange(self.covered, self.covered + chunk.shape[1], device=chunk.device)
            with torch.no_grad():
                output = model(input_ids=chunk, position_ids=positions.unsqueeze(0).expand(chunk.shape[0], -1),
                               use_cache=True, **{cache_argument(model): self})
            logits = output.logits
            start += chunk.shape[1]
        return logits

    def start_from_prefix(self, memory: Memory, position: int) -> None:
        """Starts an empty cache after a prefix whose memory was found with `lookup_prefix` (one
        memory, shared by every row). The sequences do not hold it, so every compress sends it
        as context; `position` is where the prefix ends."""
        if self.covered or self._staged is not None:
            raise ValueError("start_from_prefix needs an empty cache; this one already covers tokens")
        keys, values = memory.torch()
        self._stage([(keys, values)] * self.batch_rows)
        self.inline_tokens = self.memory_tokens = memory.tokens
        self.covered = position

    def fork(self, sequences: str | Sequence[str]) -> "LomadCache":
        """A cache for new sequences that share this one's memory (lomad's `fork_sequence`, row by
        row) and its raw tail (copied here); the two then grow independently."""
        names = [sequences] if isinstance(sequences, str) else list(sequences)
        if len(names) != self.batch_rows:
            raise ValueError(f"fork needs {self.batch_rows} sequence names, got {names}")
        if self.segments:
            for source, destination in zip(self.sequences, names):
                self.client.fork_sequence(source, destination)
        forked = LomadCache(self.client, names, model=self.model_name, resume=False, ttl_seconds=self.ttl_seconds)
        forked.covered, forked.inline_tokens, forked.memory_tokens = self.covered, self.inline_tokens, self.memory_tokens
        forked.raw_tokens, forked.segments = self.raw_tokens, self.segments
        if self._staged is not None:
            forked._staged = list(self._staged)
        for mine, theirs in zip(self.layers, forked.layers):
            if mine.is_initialized:
                _place(theirs, mine.keys.clone(), mine.values.clone())
        return forked

    # ---- the transformers Cache interface --------------------------------------------------

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, layer_idx: int, *args: Any,
               **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not 0 <= layer_idx < len(self.layers):
            raise ValueError(f"layer {layer_idx} is not one of the {len(self.layers)} layers of "
                             f"{self.info.name!r}: the model and the daemon's checkpoint differ")
        if layer_idx == 0:
            self._begin_forward(key_states)
        layer = self.layers[layer_idx]
        if not layer.is_initialized:
            self._initialize(layer, layer_idx, key_states)
        layer.keys = torch.cat([layer.keys, key_states], dim=-2)
        layer.values = torch.cat([layer.values, value_states], dim=-2)
        attended = (layer.keys, layer.values)
        if layer_idx == len(self.layers) - 1:
            self._end_forward()
        return attended

    def get_seq_length(self, layer_idx: int | None = 0) -> int:
        return self.covered

    def get_mask_sizes(self, query: Any, layer_idx: int = 0) -> tuple[int, int]:
        # transformers 5 passes the query length, 4.x the query's cache_position tensor.
        query_length = int(query.shape[0]) if isinstance(query, torch.Tensor) else int(query)
        return self.held_tokens + query_length, self.covered - self.held_tokens

    def get_query_offset(self, layer_idx: int = 0) -> int:
        return self.covered

    def get_max_length(self, layer_idx: int | None = None) -> int:
        return -1

    def get_max_cache_shape(self, layer_idx: int = 0) -> int:  # transformers 4.x
        return -1

    @property
    def is_compileable(self) -> bool:
        return False

    @property
    def is_croppable(self) -> bool:
        return False

    def crop(self, tokens_to_remove: int) -> None:
        raise NotImplementedError("LomadCache cannot crop: compressed memory cannot give back the tokens it replaced "
                                  "(assisted generation and DoLa need a croppable cache)")

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        raise NotImplementedError("LomadCache has one lomad sequence per row and cannot reorder rows (beam search); "
                                  "use greedy or sampling")

    def batch_repeat_interleave(self, repeats: int) -> None:
        raise NotImplementedError("LomadCache rows are lomad sequences: repeat rows by forking (cache.fork)")

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        raise NotImplementedError("LomadCache rows are lomad sequences and cannot be selected")

    def reset(self) -> None:
        raise NotImplementedError("LomadCache cannot be reset: make a new one (its sequences stay in lomad)")

    def __repr__(self) -> str:
        return (f"LomadCache(sequences={self.sequences}, covered={self.covered}, memory={self.memory_tokens}, "
                f"raw={self.raw_tokens}, segments={self.segments})")

    # ---- segment bookkeeping ---------------------------------------------------------------

    def _resume(self) -> None:
        found: list[tuple[torch.Tensor, torch.Tensor]] = []
        positions: set[int] = set()
        for name in self.sequences:
            try:
                memory, info = self.client.read_memory(name, output_layout="heads_major")
            except NotFound:
                memory, info = None, None
            if info is not None and self.info.name and info.model and info.model != self.info.name:
                raise ValueError(f"sequence {name!r} holds memory of model {info.model!r}, not {self.info.name!r}")
            positions.add(info.next_position if info is not None else 0)
            if memory is not None:
                start = int(memory.positions[0]) - (self.info.compression_ratio - 1)
                if start != 0:
                    raise ValueError(f"sequence {name!r} starts at position {start}: the memory before it (a published "
                                     "prefix it continued) is not in it, so it cannot be resumed on its own")
                found.append(memory.torch())
            if info is not None:
                self.segments = info.segments
        if len(positions) != 1 or (found and len(found) != self.batch_rows):
            raise ValueError(f"the sequences {self.sequences} are at different positions; rows must advance together")
        if found:
            self._stage(found)
            self.memory_tokens = int(found[0][0].shape[2])
        self.covered = positions.pop()

    def _stage(self, memories: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
        if self._staged is None:
            self._staged = memories
        else:
            self._staged = [(torch.cat([old[0], new[0]], dim=2), torch.cat([old[1], new[1]], dim=2))
                            for old, new in zip(self._staged, memories)]

    def _initialize(self, layer: DynamicLayer, layer_idx: int, key_states: torch.Tensor) -> None:
        rows, heads, _, head_dim = key_states.shape
        empty = key_states.new_zeros((rows, heads, 0, head_dim))
        _place(layer, empty, empty.clone())
        if self._staged is not None:
            _place(layer, torch.stack([keys[layer_idx] for keys, _ in self._staged]).to(key_states),
                   torch.stack([values[layer_idx] for _, values in self._staged]).to(key_states))
            if layer_idx == len(self.layers) - 1:
                self._staged = None

    def _begin_forward(self, key_states: torch.Tensor) -> None:
        if self._pending:
            raise ValueError(f"the last forward never reached layer {len(self.layers) - 1}: the model has fewer layers "
                             f"than lomad's {self.info.name!r}; load the same checkpoint in both")
        rows, heads, tokens, head_dim = key_states.shape
        if rows != self.batch_rows:
            raise ValueError(f"the batch has {rows} rows but the cache has {self.batch_rows} sequences "
                             f"({self.sequences}); give one sequence name per row")
        if (heads, head_dim) != (self.info.kv_heads, self.info.head_dim):
            raise ValueError(f"the model's KV is {heads} heads x {head_dim} but lomad's {self.info.name!r} has "
                             f"{self.info.kv_heads} x {self.info.head_dim}: load the same checkpoint in both")
        if tokens > self.room():
            raise ValueError(
                f"a forward of {tokens} tokens crosses a segment boundary (the cache holds {self.raw_tokens} of "
                f"{self.segment_length} raw tokens; at most {self.room()} fit): feed it with cache.prefill(model, ids) "
                f"or generate(..., prefill_chunk_size=cache.prefill_chunk_size)")
        self._pending = tokens

    def _end_forward(self) -> None:
        self.raw_tokens += self._pending
        self.covered += self._pending
        self._pending = 0
        if self.raw_tokens == self.segment_length:
            self._compress_raw_tail()

    def _compress_raw_tail(self) -> None:
        start = self.memory_tokens
        dtype = self.layers[0].keys.dtype
        wire = _WIRE_NAMES.get(dtype, "f32")
        row_memory = []
        for row, name in enumerate(self.sequences):
            keys = torch.stack([layer.keys[row, :, start:] for layer in self.layers])
            values = torch.stack([layer.values[row, :, start:] for layer in self.layers])
            context = None
            if self.inline_tokens:
                context = (torch.stack([layer.keys[row, :, :self.inline_tokens] for layer in self.layers]).to(_wire(wire)),
                           torch.stack([layer.values[row, :, :self.inline_tokens] for layer in self.layers]).to(_wire(wire)))
            memory = self.client.compress(
                keys.to(_wire(wire)), values.to(_wire(wire)), context=context, model=self.model_name, sequence=name,
                position=self.covered - self.segment_length, layout="heads_major", output_dtype=wire,
                output_layout="heads_major", ttl_seconds=self.ttl_seconds,
            )
            if memory.tokens != self.info.memory_tokens_per_segment:
                raise RuntimeError(f"lomad returned {memory.tokens} memory tokens for one segment of {name!r}; "
                                   f"expected {self.info.memory_tokens_per_segment}")
            row_memory.append(memory.torch())
        for index, layer in enumerate(self.layers):
            new_keys = torch.stack([keys[index] for keys, _ in row_memory]).to(layer.keys)
            new_values = torch.stack([values[index] for _, values in row_memory]).to(layer.values)
            layer.keys = torch.cat([layer.keys[:, :, :start], new_keys], dim=-2)
            layer.values = torch.cat([layer.values[:, :, :start], new_values], dim=-2)
        self.memory_tokens += self.info.memory_tokens_per_segment
        self.raw_tokens = 0
        self.segments += 1


def _place(layer: DynamicLayer, keys: torch.Tensor, values: torch.Tensor) -> None:
    """Sets a layer's tensors as its own `lazy_initialization` would (whose signature differs
    between transformers 4.5x and 5.x)."""
    layer.keys, layer.values = keys, values
    layer.dtype, layer.device = keys.dtype, keys.device
    layer.is_initialized = True


def _wire(name: str) -> torch.dtype:
    return {"f32": torch.float32, "f16": torch.float16, "bf16": torch.bfloat16}[name]


def cache_argument(model: Any) -> str:
    """The name `model.forward` and `model.generate` take the cache under: transformers 5.2x
    renamed `past_key_values` to `cache`; older versions know only the first name, newer ones
    still accept it with a deprecation warning."""
    import inspect

    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
