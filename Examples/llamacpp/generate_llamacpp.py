#!/usr/bin/env python3
"""Generate in llama.cpp while lomad compresses its KV cells into LoMA memory (run it via run.sh).

    Examples/llamacpp/run.sh --check
    Examples/llamacpp/run.sh --prompt "The Debian package manager" --max-new-tokens 100
    Examples/llamacpp/run.sh --dtype f16 --check

The checkpoint is converted to GGUF (convert_to_gguf.py, into a temporary folder), llama.cpp
generates greedily, and after every segment its cells go through lomad and come back as memory
cells at their LoMA positions (compressed_generation.py). Without --endpoint a private daemon
serves the checkpoint. --check runs the same generation in numpy (Examples/generation, float64)
with its memory from the same daemon and fails unless the greedy tokens are equal; it prints how
far llama.cpp's logits and the memory computed from llama.cpp's cells are from numpy's.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "generation"))
from cli_common import DEFAULT_MODEL, delete_if_created, load_model_and_prompt, run_reporting_failures  # noqa: E402
from compressors import DaemonCompressor  # noqa: E402
from generation import Generation  # noqa: E402
from llama_numpy import KV, LlamaModel  # noqa: E402
from lomad_client import Client  # noqa: E402
from lomad_client.daemon import LocalDaemon  # noqa: E402

from compressed_generation import CacheReport, LlamaCppLoMAGeneration  # noqa: E402
from convert_to_gguf import ConversionError, convert  # noqa: E402
from llama_state import StateFormatError  # noqa: E402
from llamacpp_sequence import LlamaCppError, LlamaCppSequence  # noqa: E402

DEFAULT_PROMPT = "The Debian package manager apt resolves dependencies"


@dataclass
class Run:
    """One generation: its tokens, the logits each was chosen from, the memory of each segment."""

    tokens: list[int] = field(default_factory=list)
    logits: list[np.ndarray] = field(default_factory=list)
    memory_keys: list[np.ndarray] = field(default_factory=list)
    memory_values: list[np.ndarray] = field(default_factory=list)


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="HF checkpoint folder (default: %(default)s)")
    parser.add_argument("--endpoint", help="a running lomad that serves the model; default: start one")
    parser.add_argument("--model-name", default="", help="the model's name in the daemon (default: its only model)")
    prompt = parser.add_mutually_exclusive_group()
    prompt.add_argument("--prompt", help=f"text, byte-level checkpoints only (default: {DEFAULT_PROMPT!r})")
    prompt.add_argument("--prompt-ids", help="comma-separated token ids")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--dtype", choices=("f32", "f16"), default="f32", help="GGUF matrix type (default: %(default)s)")
    parser.add_argument("--cache-type", choices=("f32", "f16"), help="llama.cpp KV cache type (default: --dtype)")
    parser.add_argument("--flash-attn", action="store_true", help="llama.cpp's flash attention (V cells not transposed)")
    parser.add_argument("--check", action="store_true", help="fail unless the numpy generation gives the same tokens")
    parser.add_argument("--quiet", action="store_true", help="print only the token ids and the summary")
    parser.add_argument("--verbose", action="store_true", help="show llama.cpp's own log")
    arguments = parser.parse_args(argv)
    if arguments.prompt is None and arguments.prompt_ids is None:
        arguments.prompt = DEFAULT_PROMPT
    if arguments.max_new_tokens < 1:
        parser.error("--max-new-tokens must be at least 1")
    return arguments


def generate_in_llamacpp(arguments: argparse.Namespace, model: LlamaModel, gguf: Path, client: Client, ids: list[int],
                         log: Callable[[str], None] | None) -> tuple[Run, list[CacheReport], int]:
    """The llama.cpp run, the cache report of every compressed segment, and the cells held at the end."""
    config = model.config
    run = Run()
    sequence_name = f"llamacpp-{uuid.uuid4().hex[:12]}"

    def compress(keys: np.ndarray, values: np.ndarray, position: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        memory = client.compress(keys, values, model=arguments.model_name, sequence=sequence_name, position=position,
                                 output_dtype="f32", output_layout="heads_major")
        run.memory_keys.append(np.array(memory.keys))
        run.memory_values.append(np.array(memory.values))
        return memory.keys, memory.values, memory.positions

    total = len(ids) + arguments.max_new_tokens
    loma = config.loma
    with LlamaCppSequence(gguf, config.num_hidden_layers, config.num_key_value_heads, config.head_dim,
                          context_cells=max(256, total), max_batch=loma.segment_length,
                          cache_type=arguments.cache_type or arguments.dtype, flash_attention=arguments.flash_attn,
                          verbose=arguments.verbose) as sequence:
        generation = LlamaCppLoMAGeneration(sequence, loma.segment_length, loma.compression_ratio, compress, log)
        try:
            for token, logits in generation.greedy(ids, arguments.max_new_tokens):
                run.tokens.append(token)
                run.logits.append(logits)
            cells = sequence.state().cells
        finally:
            delete_if_created(client, sequence_name)
    return run, generation.reports, cells


def generate_in_numpy(arguments: argparse.Namespace, model: LlamaModel, client: Client, ids: list[int]) -> Run:
    """The reference: Examples/generation's numpy model, memory from the same daemon."""
    run = Run()
    sequence_name = f"numpy-{uuid.uuid4().hex[:12]}"
    daemon_compressor = DaemonCompressor(client, arguments.model_name, sequence_name)

    def compress(segment: KV, position: int, held: KV) -> KV:
        memory = daemon_compressor(segment, position, held)
        run.memory_keys.append(memory.keys)
        run.memory_values.append(memory.values)
        return memory

    generation = Generation(model, compress)
    try:
        logits = generation.feed(ids)
        for step in range(arguments.max_new_tokens):
            run.tokens.append(int(np.argmax(logits)))
            run.logits.append(logits)
            if step < arguments.max_new_tokens - 1:
                logits = generation.feed([run.tokens[-1]])
    finally:
        delete_if_created(client, sequence_name)
    return run


def relative(actual: list[np.ndarray], expected: list[np.ndarray]) -> float:
    """||actual - expected|| / ||expected|| over all the arrays (0 when there are none)."""
    if not expected:
        return 0.0
    a, e = np.concatenate([x.ravel() for x in actual]), np.concatenate([x.ravel() for x in expected])
    return float(np.linalg.norm(a - e) / np.linalg.norm(e))


def compare(llamacpp: Run, numpy_run: Run) -> int:
    """Prints the numeric distance of the two runs; 0 when their tokens agree, else 1."""
    agreeing = next((i for i, (a, b) in enumerate(zip(llamacpp.tokens, numpy_run.tokens)) if a != b), len(llamacpp.tokens))
    steps = min(agreeing + 1, len(llamacpp.logits))  # logits compared while both saw the same tokens
    logit_error = max(float(np.max(np.abs(a - b))) for a, b in zip(llamacpp.logits[:steps], numpy_run.logits[:steps]))
    segments = min(len(llamacpp.memory_keys), len(numpy_run.memory_keys))
    print(f"llama.cpp vs numpy: max |logit difference| {logit_error:.3g} over {steps} steps; memory of "
          f"{segments} segments: keys relative difference "
          f"{relative(llamacpp.memory_keys[:segments], numpy_run.memory_keys[:segments]):.3g}, values "
          f"{relative(llamacpp.memory_values[:segments], numpy_run.memory_values[:segments]):.3g}", file=sys.stderr)
    if llamacpp.tokens != numpy_run.tokens:
        print(f"check FAILED: llama.cpp and numpy differ first at token {agreeing}\n"
              f"numpy: {','.join(map(str, numpy_run.tokens))}", file=sys.stderr)
        return 1
    print(f"check passed: {len(llamacpp.tokens)} greedy tokens identical in llama.cpp and numpy", file=sys.stderr)
    return 0


def generate_and_check(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    model, tokenizer, ids = load_model_and_prompt(arguments)
    log = None if arguments.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    with tempfile.TemporaryDirectory(prefix="loma-gguf-") as folder:
        # Converted first: a checkpoint llama.cpp cannot run is refused before a daemon starts.
        gguf = convert(arguments.model, Path(folder) / f"{arguments.model.name}-{arguments.dtype}.gguf", arguments.dtype)
        daemon = None if arguments.endpoint else LocalDaemon({"model": arguments.model}, search_from=__file__).start()
        try:
            with Client(arguments.endpoint or daemon.endpoint, timeout=60.0) as client:
                if log:
                    loma = model.config.loma
                    log(f"[{arguments.model.name} as {arguments.dtype} GGUF in llama.cpp: segment_length "
                        f"{loma.segment_length}, ratio {loma.compression_ratio}; prompt of {len(ids)} tokens]")
                run, reports, cells = generate_in_llamacpp(arguments, model, gguf, client, ids, log)
                if not arguments.quiet and tokenizer is not None:
                    print(tokenizer.decode(ids + run.tokens), flush=True)
                print("tokens:", ",".join(map(str, run.tokens)))
                positions = len(ids) + len(run.tokens) - 1  # the last token is chosen, never decoded
                print(f"llama.cpp held {cells} KV cells for {positions} positions "
                      f"({len(reports)} segments compressed by lomad)")
                if arguments.check:
                    return compare(run, generate_in_numpy(arguments, model, client, ids))
        finally:
            if daemon:
                daemon.stop()
    return 0


def main(argv: list[str] | None = None) -> int:
    try:
        return run_reporting_failures("generate_llamacpp.py", lambda: generate_and_check(argv))
    except (ConversionError, StateFormatError, LlamaCppError) as error:  # one line, as the lomad tools report
        print(f"generate_llamacpp.py: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
