#!/usr/bin/env python3
"""Generate text with Hugging Face transformers while lomad compresses the KV cache (LomadCache).

`model.generate(..., past_key_values=LomadCache(client, sequence=...))`: after every segment the
raw KV goes to lomad in one compress into the sequence and the memory KV that comes back replaces
it; new tokens keep their absolute positions while the cache is shorter than them. Text goes to
stdout, the cache size to stderr.

    pip install "Examples/python[hf]"
    python3 Examples/generation/generate_transformers.py --prompt "The Debian package manager"

Without --endpoint a private daemon is started for the run. --check repeats the generation on the
same model with transformers' own cache rebuilt from numpy each step (`transformers_model.py`,
slow) and memory computed in-process by the independent numpy reference (Tools/loma_reference),
and fails unless both produce the same tokens.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cli_common import DEFAULT_MODEL, delete_if_created, run_reporting_failures  # noqa: E402
from lomad_client import Client  # noqa: E402
from lomad_client.daemon import LocalDaemon  # noqa: E402


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="HF checkpoint folder (default: %(default)s)")
    parser.add_argument("--endpoint", help="a running lomad that serves the model; default: start one")
    parser.add_argument("--model-name", default="", help="the model's name in the daemon (default: its only model)")
    parser.add_argument("--prompt", required=True)
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    parser.add_argument("--sample", action="store_true", help="sample (seeded by --seed) instead of greedy")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--check", action="store_true", help="compare with the in-process reference memory (greedy)")
    arguments = parser.parse_args(argv)
    if not (arguments.model / "config.json").exists():
        parser.error(f"{arguments.model}: no config.json (train Models/loma-tiny, or pass --model DIR)")
    if arguments.check and arguments.sample:
        parser.error("--check compares greedy generations; drop --sample")
    return arguments


def generate(arguments: argparse.Namespace) -> int:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from lomad_client.hf import LomadCache, cache_argument

    tokenizer = AutoTokenizer.from_pretrained(str(arguments.model))
    ids = tokenizer(arguments.prompt, add_special_tokens=False)["input_ids"]
    if not ids:
        raise SystemExit("the prompt is empty")
    model = AutoModelForCausalLM.from_pretrained(str(arguments.model), dtype=getattr(torch, arguments.dtype))
    model.eval()
    model.generation_config.eos_token_id = None  # run --max-new-tokens, as --check's reference does

    daemon = None if arguments.endpoint else LocalDaemon({"model": arguments.model}, search_from=__file__).start()
    try:
        with Client(arguments.endpoint or daemon.endpoint, timeout=60.0) as client:
            sequence = f"hf-{uuid.uuid4().hex[:12]}"
            try:
                cache = LomadCache(client, sequence=sequence, model=arguments.model_name, resume=False)
                input_ids = torch.tensor([ids])
                started = time.perf_counter()
                cache.prefill(model, input_ids)  # on segment boundaries; generate() runs the last token
                torch.manual_seed(arguments.seed)
                output = model.generate(input_ids, max_new_tokens=arguments.max_new_tokens, do_sample=arguments.sample,
                                        pad_token_id=tokenizer.pad_token_id or 0, **{cache_argument(model): cache})
                produced = output[0, len(ids):].tolist()
                print(arguments.prompt + tokenizer.decode(produced), flush=True)
                print(f"[{cache.covered} positions held in {cache.held_tokens} cache slots: {cache.memory_tokens} memory "
                      f"+ {cache.raw_tokens} raw; {cache.segments} segments compressed by lomad; "
                      f"{time.perf_counter() - started:.1f} s]", file=sys.stderr)
            finally:
                delete_if_created(client, sequence)
    finally:
        if daemon:
            daemon.stop()
    print("tokens:", ",".join(map(str, produced)))
    if arguments.check:
        return check(arguments, ids, produced)
    return 0


def check(arguments: argparse.Namespace, ids: list[int], produced: list[int]) -> int:
    from compressors import ReferenceCompressor
    from generation import Generation
    from transformers_model import TransformersModel

    model = TransformersModel(arguments.model, arguments.dtype)
    reference = list(Generation(model, ReferenceCompressor(arguments.model, model.config))
                     .greedy(ids, arguments.max_new_tokens))
    if reference != produced:
        print(f"check FAILED: the in-process reference memory gives different tokens\n"
              f"reference: {','.join(map(str, reference))}", file=sys.stderr)
        return 1
    print(f"check passed: {len(produced)} tokens identical with the in-process reference memory", file=sys.stderr)
    return 0


def main(argv=None) -> int:
    return run_reporting_failures("generate_transformers.py", lambda: generate(parse_arguments(argv)))


if __name__ == "__main__":
    sys.exit(main())
