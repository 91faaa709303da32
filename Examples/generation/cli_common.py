"""Command-line pieces the numpy examples share: which model, which daemon, which prompt."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from lomad_client import Client, LomadError, NotFound

from byte_tokenizer import ByteTokenizer, load_byte_tokenizer
from llama_numpy import REPO_ROOT, LlamaModel

DEFAULT_MODEL = REPO_ROOT / "Models" / "loma-tiny"


def add_model_and_prompt_arguments(parser: argparse.ArgumentParser, endpoint_help: str) -> None:
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="HF checkpoint folder (default: %(default)s)")
    parser.add_argument("--endpoint", help=endpoint_help)
    parser.add_argument("--model-name", default="", help="the model's name in the daemon (default: its only model)")
    prompt = parser.add_mutually_exclusive_group(required=True)
    prompt.add_argument("--prompt", help="text (byte-level tokenizers only; otherwise use generate_transformers.py)")
    prompt.add_argument("--prompt-ids", help="comma-separated token ids")


def load_model_and_prompt(arguments: argparse.Namespace) -> tuple[LlamaModel, ByteTokenizer | None, list[int]]:
    if not (arguments.model / "config.json").exists():
        raise SystemExit(f"{arguments.model}: no config.json (train Models/loma-tiny, or pass --model DIR)")
    model = LlamaModel(arguments.model)
    try:
        tokenizer = load_byte_tokenizer(arguments.model)
    except ValueError:
        tokenizer = None
    if arguments.prompt_ids is not None:
        try:
            ids = [int(part) for part in arguments.prompt_ids.split(",") if part.strip()]
        except ValueError:
            raise SystemExit(f"--prompt-ids must be comma-separated integers, got {arguments.prompt_ids!r}") from None
        vocabulary = model.config.vocab_size
        if any(not 0 <= i < vocabulary for i in ids):
            raise SystemExit(f"--prompt-ids must lie in [0, {vocabulary}) for {arguments.model}")
    elif tokenizer is None:
        raise SystemExit(f"{arguments.model} has no byte-level tokenizer; pass --prompt-ids")
    else:
        ids = tokenizer.encode(arguments.prompt)
    if not ids:
        raise SystemExit("the prompt is empty")
    return model, tokenizer, ids


def run_reporting_failures(program: str, main: Callable[[], int]) -> int:
    """`main()`, with a client error reported as every lomad tool does: one line on stderr,
    `PROGRAM: WHAT: WHY`, and the exit code lomactl uses for it (2 invalid endpoint, 3 no daemon,
    4 error status, 5 not admitted)."""
    try:
        return main()
    except LomadError as error:
        print(f"{program}: {error.kind}: {error}", file=sys.stderr)
        return error.exit_code
    except FileNotFoundError as error:  # find_lomad's list of places tried
        print(f"{program}: start lomad: {error}", file=sys.stderr)
        return 1


def delete_if_created(client: Client, sequence: str) -> None:
    """Deletes the generation's sequence; one that was never created (a failure before the first
    segment) is no error."""
    try:
        client.delete_sequence(sequence)
    except NotFound:
        pass
