#!/usr/bin/env python3
"""Two processes sharing compressed memory through lomad's prefix store.

Process A compresses a long prompt into a sequence and publishes the memory under the prompt's
chained chunk hashes:

    python3 Examples/generation/share_prefix.py publish --endpoint ipc:///tmp/lomad.sock --prompt "..."

Process B, started separately with a prompt that begins the same way, looks the hashes up,
puts the memory it finds in its cache, runs only the tokens after the shared prefix through the
model and goes on generating:

    python3 Examples/generation/share_prefix.py continue --endpoint ipc:///tmp/lomad.sock --prompt "... and more"

B hashes only the whole segments of its prompt without the last token: the last token must run
through the model anyway, since its logits choose the first new token.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_common import (add_model_and_prompt_arguments, delete_if_created, load_model_and_prompt,  # noqa: E402
                        run_reporting_failures)
from compressors import DaemonCompressor  # noqa: E402
from generation import Generation  # noqa: E402
from llama_numpy import KV  # noqa: E402
from lomad_client import Client, chunk_hashes  # noqa: E402


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("role", choices=("publish", "continue"))
    add_model_and_prompt_arguments(parser, endpoint_help="the lomad both processes use (required)")
    parser.add_argument("--max-new-tokens", type=int, default=32, help="continue: tokens to generate")
    arguments = parser.parse_args(argv)
    if not arguments.endpoint:
        parser.error("--endpoint is required: both processes must reach the same daemon")
    return arguments


def publish(client: Client, arguments, model, ids: list[int]) -> int:
    """Compresses the prompt's whole segments into a fresh sequence and publishes their memory."""
    segment_length = model.config.loma.segment_length
    whole = len(ids) // segment_length * segment_length
    if whole == 0:
        raise SystemExit(f"the prompt has {len(ids)} tokens; publishing needs at least one segment of {segment_length}")
    sequence = f"prefix-{uuid.uuid4().hex[:12]}"
    generation = Generation(model, DaemonCompressor(client, arguments.model_name, sequence))
    try:
        generation.feed(ids[:whole])
        memory, info = client.read_memory(sequence, output_dtype="f32", output_layout="heads_major")
        hashes = chunk_hashes(ids[:whole], segment_length)
        stored = client.publish_prefix(hashes, memory.keys, memory.values, memory.positions, model=arguments.model_name)
    finally:
        delete_if_created(client, sequence)  # the published prefix is what others read; the sequence was scratch
    print(f"published {len(hashes)} chunks ({stored} new) covering {whole} of {len(ids)} prompt tokens "
          f"as {memory.tokens} memory tokens")
    return 0


def continue_from_prefix(client: Client, arguments, model, tokenizer, ids: list[int]) -> int:
    segment_length = model.config.loma.segment_length
    hashes = chunk_hashes(ids[:-1], segment_length)
    matched, memory = client.lookup_prefix(hashes, model=arguments.model_name, output_dtype="f32",
                                           output_layout="heads_major")
    shared = None
    if matched:
        shared = KV(memory.keys.astype("float64"), memory.values.astype("float64"))
    sequence = f"continue-{uuid.uuid4().hex[:12]}"
    generation = Generation(model, DaemonCompressor(client, arguments.model_name, sequence, shared_prefix=shared))
    if shared is not None:
        generation.start_from_memory(shared, position=matched * segment_length, segments=matched)
    skipped = matched * segment_length
    try:
        produced = list(generation.greedy(ids[skipped:], arguments.max_new_tokens))
    finally:
        delete_if_created(client, sequence)  # scratch: the memory this process made is not shared
    prompt_computed = len(ids) - skipped
    print(f"found {matched} of {len(hashes)} chunks: reused memory for {skipped} prompt tokens, "
          f"ran {prompt_computed} prompt tokens through the model")
    if tokenizer is not None:
        print("text:", tokenizer.decode(produced))
    print("tokens:", ",".join(map(str, produced)))
    return 0


def main(argv=None) -> int:
    return run_reporting_failures("share_prefix.py", lambda: share(argv))


def share(argv=None) -> int:
    arguments = parse_arguments(argv)
    model, tokenizer, ids = load_model_and_prompt(arguments)
    with Client.connect(arguments.endpoint, timeout=60.0) as client:
        if arguments.role == "publish":
            return publish(client, arguments, model, ids)
        return continue_from_prefix(client, arguments, model, tokenizer, ids)


if __name__ == "__main__":
    sys.exit(main())
