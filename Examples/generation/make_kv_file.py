#!/usr/bin/env python3
"""Make kv.safetensors, the input of `lomactl compress`, from a checkpoint and a text.

The file holds what an inference server's KV cache holds after prefilling the text: the keys
(rotated at their positions) and values of every layer, computed with ordinary causal attention
by the numpy Llama forward pass (`llama_numpy.py`, no torch), as `keys` and `values`
`[layers, kv_heads, tokens, head_dim]` (or tokens-major). lomad compresses whole segments only,
so the text is cut to a whole number of segments; the tokens start at position 0.

    python3 Examples/generation/make_kv_file.py --text "The Debian package manager apt resolves dependencies ..."
    lomactl compress --endpoint ipc:///tmp/lomad.sock --input kv.safetensors --output memory.safetensors

--text needs a byte-level tokenizer (Models/loma-tiny has one); other checkpoints take --prompt-ids.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from byte_tokenizer import load_byte_tokenizer  # noqa: E402
from cli_common import DEFAULT_MODEL  # noqa: E402
from llama_numpy import KV, LlamaModel  # noqa: E402  (puts the checkout's Tools on sys.path)
from Tools.loma_reference.kv_files import write_kv  # noqa: E402

PROGRAM = "make_kv_file.py"
DTYPES = {"f32": "F32", "f16": "F16", "bf16": "BF16"}


def parse_arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROGRAM, description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL, help="HF checkpoint folder (default: %(default)s)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--text", help="the text (byte-level tokenizers only)")
    source.add_argument("--text-file", type=Path, help="a UTF-8 file holding the text")
    source.add_argument("--prompt-ids", help="comma-separated token ids, for checkpoints without a byte-level tokenizer")
    parser.add_argument("--output", type=Path, default=Path("kv.safetensors"), help="default: %(default)s")
    parser.add_argument("--dtype", choices=sorted(DTYPES), default="f32", help="default: %(default)s")
    parser.add_argument("--layout", choices=("heads_major", "tokens_major"), default="heads_major",
                        help="heads_major [layers, kv_heads, tokens, head_dim] (default) or tokens_major")
    return parser.parse_args(argv)


def token_ids(arguments: argparse.Namespace, vocabulary: int) -> list[int]:
    """The text's token ids; SystemExit with the reason when there are none to use."""
    if arguments.prompt_ids is not None:
        try:
            ids = [int(part) for part in arguments.prompt_ids.split(",") if part.strip()]
        except ValueError:
            raise SystemExit(f"{PROGRAM}: --prompt-ids: not comma-separated integers: {arguments.prompt_ids!r}") from None
        if any(not 0 <= i < vocabulary for i in ids):
            raise SystemExit(f"{PROGRAM}: --prompt-ids: ids must lie in [0, {vocabulary}) for {arguments.model}")
        return ids
    try:
        tokenizer = load_byte_tokenizer(arguments.model)
    except ValueError as error:
        raise SystemExit(f"{PROGRAM}: tokenize: {error}") from None
    if arguments.text_file is not None:
        try:
            text = arguments.text_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise SystemExit(f"{PROGRAM}: read {arguments.text_file}: {error}") from None
    else:
        text = arguments.text
    return tokenizer.encode(text)


def prefill(model: LlamaModel, ids: list[int]) -> KV:
    """The KV cache of `ids` at positions 0.., as a server holds it after prefilling them."""
    _, kv = model.forward(np.array(ids), np.arange(len(ids)), KV.empty(model.config))
    return kv


def main(argv: list[str] | None = None) -> int:
    arguments = parse_arguments(argv)
    if not (arguments.model / "config.json").is_file():
        raise SystemExit(f"{PROGRAM}: load {arguments.model}: no config.json (pass --model DIR)")
    if not arguments.output.parent.is_dir():
        raise SystemExit(f"{PROGRAM}: write {arguments.output}: the directory {arguments.output.parent} does not exist")
    model = LlamaModel(arguments.model)
    ids = token_ids(arguments, model.config.vocab_size)
    segment_length = model.config.loma.segment_length
    kept = len(ids) // segment_length * segment_length
    if kept == 0:
        raise SystemExit(f"{PROGRAM}: tokenize: the text has {len(ids)} tokens; a KV file needs at least one "
                         f"segment of {segment_length} (lomad compresses whole segments only)")
    kv = prefill(model, ids[:kept])
    write_kv(arguments.output, kv.keys, kv.values, dtype=DTYPES[arguments.dtype], layout=arguments.layout)
    dropped = len(ids) - kept
    note = f"; the last {dropped} tokens, less than a segment, were left out" if dropped else ""
    layers, kv_heads, tokens, head_dim = kv.keys.shape
    shape = [layers, kv_heads, tokens, head_dim] if arguments.layout == "heads_major" else [layers, tokens, kv_heads, head_dim]
    print(f"wrote {arguments.output}: keys and values {shape} ({arguments.layout}, {DTYPES[arguments.dtype]}), "
          f"{kept} tokens = {kept // segment_length} segments of {segment_length}{note}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
