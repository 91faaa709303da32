#!/usr/bin/env python3
"""Generate text from a LoMA checkpoint in numpy while lomad compresses its KV cache.

After every `segment_length` tokens the segment's raw KV goes to the daemon (compress into a
sequence, so the daemon keeps the memory) and is replaced in the cache by the memory KV that
comes back. Text goes to stdout as it is generated, the cache size to stderr.

    python3 Examples/generation/generate_numpy.py --prompt "The Debian package manager"
    python3 Examples/generation/generate_numpy.py --model DIR --prompt-ids 1,2,3 --check

Without --endpoint a private daemon is started for the run. --check repeats the generation with
the memory computed in-process by the independent numpy reference (Tools/loma_reference) and
fails unless both produce the same tokens.
"""

from __future__ import annotations

import argparse
import codecs
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_common import (add_model_and_prompt_arguments, delete_if_created, load_model_and_prompt,  # noqa: E402
                        run_reporting_failures)
from compressors import DaemonCompressor, ReferenceCompressor  # noqa: E402
from generation import Generation  # noqa: E402
from llama_numpy import LlamaModel  # noqa: E402
from lomad_client import Client  # noqa: E402
from lomad_client.daemon import LocalDaemon  # noqa: E402

def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_model_and_prompt_arguments(parser, endpoint_help="a running lomad that serves the model; default: start one")
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--sequence", help="daemon sequence to compress into (default: a fresh name)")
    parser.add_argument("--keep-sequence", action="store_true", help="leave the sequence in the daemon (default: delete it)")
    parser.add_argument("--check", action="store_true", help="compare with the in-process reference memory")
    parser.add_argument("--quiet", action="store_true", help="print only the final token ids")
    return parser.parse_args(argv)


def generate(model: LlamaModel, compressor, ids: list[int], max_new_tokens: int, stream=None, log=None) -> list[int]:
    generation = Generation(model, compressor, log=log)
    produced = []
    for token in generation.greedy(ids, max_new_tokens):
        produced.append(token)
        if stream:
            stream(token)
    return produced


def main(argv=None) -> int:
    return run_reporting_failures("generate_numpy.py", lambda: generate_and_check(argv))


def generate_and_check(argv=None) -> int:
    arguments = parse_arguments(argv)
    model, tokenizer, ids = load_model_and_prompt(arguments)
    loma = model.config.loma
    log = None if arguments.quiet else (lambda line: print(line, file=sys.stderr, flush=True))
    if log:
        log(f"[{arguments.model.name}: segment_length {loma.segment_length}, ratio {loma.compression_ratio}; "
            f"prompt of {len(ids)} tokens]")

    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def stream(token: int) -> None:
        if arguments.quiet:
            return
        if tokenizer is None:
            print(token, end=" ", flush=True)
        elif token < 256:
            print(decoder.decode(bytes([token])), end="", flush=True)

    daemon = None if arguments.endpoint else LocalDaemon({"model": arguments.model}, search_from=__file__).start()
    try:
        endpoint = arguments.endpoint or daemon.endpoint
        with Client(endpoint, timeout=60.0) as client:
            sequence = arguments.sequence or f"generate-{uuid.uuid4().hex[:12]}"
            compressor = DaemonCompressor(client, arguments.model_name, sequence)
            if not arguments.quiet and tokenizer is not None:
                print(tokenizer.decode(ids), end="", flush=True)
            try:
                produced = generate(model, compressor, ids, arguments.max_new_tokens, stream, log)
                if not arguments.quiet:
                    print(flush=True)
                _, info = client.read_memory(sequence, segment_count=1)
                if log:
                    log(f"[daemon sequence {sequence}: {info.segments} segments, {info.memory_tokens} memory tokens, "
                        f"{info.bytes} bytes{', kept' if arguments.keep_sequence else ', deleted'}]")
            finally:
                if not arguments.keep_sequence:
                    delete_if_created(client, sequence)
    finally:
        if daemon:
            daemon.stop()
    print("tokens:", ",".join(map(str, produced)))

    if arguments.check:
        reference = generate(model, ReferenceCompressor(arguments.model, model.config), ids, arguments.max_new_tokens)
        if reference != produced:
            first = next(i for i, (a, b) in enumerate(zip(produced, reference)) if a != b) if len(reference) == len(produced) else None
            print(f"check FAILED: the in-process reference memory gives different tokens (first difference at {first})\n"
                  f"reference: {','.join(map(str, reference))}", file=sys.stderr)
            return 1
        print(f"check passed: {len(produced)} tokens identical with the in-process reference memory", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
