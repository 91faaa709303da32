"""One llama.cpp context holding one sequence, driven through llama-cpp-python's C bindings.

The high-level `llama_cpp.Llama` keeps its own idea of which tokens the cache holds and where the
next one goes; once memory cells replace a segment's cells that idea is wrong, so this talks to
libllama directly: `llama_decode` with explicit positions, `llama_get_logits_ith`, and the
sequence state calls that read and replace the cells (llama_state.py says their format).
"""

from __future__ import annotations

import ctypes
import sys
from pathlib import Path

import numpy as np

import llama_cpp

import llama_state

SEQUENCE = 0
CACHE_TYPES = {"f32": llama_cpp.GGML_TYPE_F32, "f16": llama_cpp.GGML_TYPE_F16}
# ggml.h `enum ggml_log_level` of the vendored ggml (DEBUG 1, INFO 2, WARN 3, ERROR 4, CONT 5);
# llama-cpp-python's own callback maps an older numbering and prints warnings as errors.
GGML_LOG_LEVEL_ERROR, GGML_LOG_LEVEL_CONT = 4, 5
_log_state = {"verbose": False, "printing": False}


@llama_cpp.llama_log_callback
def _log(level: int, text: bytes, _user_data: ctypes.c_void_p) -> None:
    """llama.cpp's log on stderr: everything when verbose, else errors only (their messages say
    why a state or a decode was refused)."""
    if level != GGML_LOG_LEVEL_CONT:
        _log_state["printing"] = _log_state["verbose"] or level >= GGML_LOG_LEVEL_ERROR
    if _log_state["printing"]:
        print(text.decode("utf-8", errors="replace"), end="", file=sys.stderr, flush=True)


class LlamaCppError(RuntimeError):
    """libllama refused a call; its own message went to stderr."""


class LlamaCppSequence:
    """`decode(ids, first_position)` -> logits of the last token; `state()` / `replace_state()`."""

    def __init__(self, gguf_path: Path, layers: int, kv_heads: int, head_dim: int, context_cells: int,
                 max_batch: int, cache_type: str = "f32", flash_attention: bool = False, verbose: bool = False):
        if cache_type not in CACHE_TYPES:
            raise ValueError(f"cache type must be one of {', '.join(CACHE_TYPES)}, not {cache_type!r}")
        _log_state["verbose"] = verbose
        llama_cpp.llama_log_set(_log, ctypes.c_void_p(0))
        llama_cpp.llama_backend_init()
        self.layers, self.kv_heads, self.head_dim = layers, kv_heads, head_dim
        model_params = llama_cpp.llama_model_default_params()
        model_params.use_mmap = False
        self.model = llama_cpp.llama_model_load_from_file(str(gguf_path).encode(), model_params)
        if not self.model:
            raise LlamaCppError(f"llama.cpp could not load {gguf_path}")
        self.vocabulary = llama_cpp.llama_vocab_n_tokens(llama_cpp.llama_model_get_vocab(self.model))
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = context_cells
        params.n_batch = params.n_ubatch = max_batch
        params.n_seq_max = 1
        params.n_threads = params.n_threads_batch = 1
        params.type_k = params.type_v = CACHE_TYPES[cache_type]
        params.flash_attn_type = (llama_cpp.LLAMA_FLASH_ATTN_TYPE_ENABLED if flash_attention
                                  else llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED)
        params.no_perf = True
        self.context = llama_cpp.llama_init_from_model(self.model, params)
        if not self.context:
            llama_cpp.llama_model_free(self.model)
            raise LlamaCppError(f"llama.cpp could not create a context of {context_cells} cells")
        self.max_batch = max_batch
        self.batch = llama_cpp.llama_batch_init(max_batch, 0, 1)

    def close(self) -> None:
        if self.context:
            llama_cpp.llama_batch_free(self.batch)
            llama_cpp.llama_free(self.context)
            llama_cpp.llama_model_free(self.model)
            self.context = self.model = None

    def __enter__(self) -> "LlamaCppSequence":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def decode(self, token_ids: list[int], first_position: int) -> np.ndarray:
        """Runs `token_ids` at `first_position`, `first_position + 1`, ...; logits of the last one."""
        count = len(token_ids)
        if not 0 < count <= self.max_batch:
            raise ValueError(f"decode takes 1..{self.max_batch} tokens, got {count}")
        for index, token in enumerate(token_ids):
            if not 0 <= token < self.vocabulary:
                raise ValueError(f"token id {token} is outside the vocabulary of {self.vocabulary}")
            self.batch.token[index] = token
            self.batch.pos[index] = first_position + index
            self.batch.n_seq_id[index] = 1
            self.batch.seq_id[index][0] = SEQUENCE
            self.batch.logits[index] = index == count - 1
        self.batch.n_tokens = count
        status = llama_cpp.llama_decode(self.context, self.batch)
        if status != 0:
            raise LlamaCppError(f"llama_decode returned {status} for {count} tokens at position {first_position}")
        logits = llama_cpp.llama_get_logits_ith(self.context, -1)
        return np.ctypeslib.as_array(logits, shape=(self.vocabulary,)).astype(np.float64)

    def state_bytes(self) -> bytes:
        """The sequence's state exactly as `llama_state_seq_get_data` writes it."""
        size = llama_cpp.llama_state_seq_get_size(self.context, SEQUENCE)
        buffer = (ctypes.c_uint8 * size)()
        written = llama_cpp.llama_state_seq_get_data(self.context, buffer, size, SEQUENCE)
        if written == 0:
            raise LlamaCppError("llama_state_seq_get_data wrote nothing")
        return bytes(buffer)[:written]

    def state(self) -> llama_state.SequenceState:
        return llama_state.parse(self.state_bytes(), self.layers, self.kv_heads * self.head_dim)

    def replace_state(self, state: llama_state.SequenceState) -> None:
        """The sequence's cells become exactly `state`'s (llama.cpp drops the old ones first)."""
        data = llama_state.serialize(state)
        buffer = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        read = llama_cpp.llama_state_seq_set_data(self.context, buffer, len(data), SEQUENCE)
        if read != len(data):
            raise LlamaCppError(f"llama_state_seq_set_data read {read} of {len(data)} bytes")

    def position_range(self) -> tuple[int, int]:
        """The smallest and largest position the sequence's cells hold (-1, -1 when empty)."""
        memory = llama_cpp.llama_get_memory(self.context)
        return (llama_cpp.llama_memory_seq_pos_min(memory, SEQUENCE), llama_cpp.llama_memory_seq_pos_max(memory, SEQUENCE))
