"""Proves that an exported folder, the training objective and lomad agree.

Checks, in order (exit status 1 on the first disagreement):
1. `transformers.AutoTokenizer` loads the folder and turns text into its UTF-8 bytes; the special
   ids match `config.json`.
2. `transformers.AutoModelForCausalLM` loads it as `LlamaForCausalLM` and its causal logits equal
   the recipe's own model's.
3. For a two-segment English text, the recipe's training layout (loma-spec 3.4) gives the reading
   zones' keys/values and the memory zones' keys/values. The reading-zone KV of each segment goes
   to `lomad compress` (segment 1 with segment 0's memory as `--context`), and the memory KV lomad
   returns must equal the memory zone the training objective computes (relative error < 1e-4),
   with the same positions; then the same two segments as one block, which lomad compresses
   segment by segment on its own (loma-spec 3.3).

    python verify_engine.py --model ../Models/loma-tiny [--lomad ../.build/debug/lomad]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file

from loma_train.export import load_exported
from loma_train.layout import loma_layout
from loma_train.vocabulary import Vocabulary

TEXT = ("The package manager keeps a list of every file it installed, so removing a package removes "
        "exactly those files and leaves your own configuration alone unless you ask it to purge. ")
TOLERANCE = 1e-4


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    return float((actual.double() - expected.double()).norm() / expected.double().norm())


class Failure(Exception):
    pass


def check(name: str, error: float, tolerance: float = TOLERANCE) -> None:
    verdict = "ok" if error < tolerance else "FAIL"
    print(f"  {name}: relative error {error:.2e} ({verdict}, tolerance {tolerance:.0e})")
    if error >= tolerance:
        raise Failure(name)


def check_tokenizer(folder: Path, hf: dict) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    sample = "Héllo, wörld!\n\tbytes"
    ids = tokenizer(sample)["input_ids"]
    if ids != list(sample.encode("utf-8")):
        raise Failure(f"tokenizer: {ids} are not the UTF-8 bytes of {sample!r}")
    repetition = tokenizer.convert_tokens_to_ids("<|repeat|>")
    memory = [tokenizer.convert_tokens_to_ids(f"<|memory_{j}|>") for j in range(len(hf["loma"]["memory_token_ids"]))]
    if repetition != hf["loma"]["repetition_token_id"] or memory != hf["loma"]["memory_token_ids"]:
        raise Failure(f"tokenizer specials {repetition}, {memory} differ from config.json's loma section")
    if tokenizer.decode(ids) != sample:
        raise Failure("tokenizer: decode(encode(text)) != text")
    print(f"tokenizer: AutoTokenizer loads {type(tokenizer).__name__}, bytes round-trip, specials match (ok)")


def check_transformers(folder: Path, model: torch.nn.Module, ids: torch.Tensor) -> None:
    from transformers import AutoModelForCausalLM

    reference = AutoModelForCausalLM.from_pretrained(str(folder), dtype=torch.float32).eval()
    print(f"transformers: loads as {type(reference).__name__}")
    if type(reference).__name__ != "LlamaForCausalLM":
        raise Failure("transformers did not load a LlamaForCausalLM")
    positions = torch.arange(ids.shape[1])[None]
    with torch.no_grad():
        expected = reference(input_ids=ids).logits
        actual = model(ids, positions, torch.ones(ids.shape[1], ids.shape[1], dtype=torch.bool).tril()).logits
    check("causal logits, recipe model vs transformers", relative_error(actual, expected))


def run_lomad(lomad: Path, folder: Path, work: Path, name: str, keys: torch.Tensor, values: torch.Tensor,
              position: int, context: tuple[torch.Tensor, torch.Tensor] | None) -> dict[str, torch.Tensor]:
    """keys/values `[layers, kv_heads, tokens, head_dim]`; returns lomad's output tensors."""
    source, output = work / f"{name}-kv.safetensors", work / f"{name}-memory.safetensors"
    save_file({"keys": keys.contiguous(), "values": values.contiguous()}, str(source))
    command = [str(lomad), "compress", "--model", str(folder), "--input", str(source), "--output", str(output),
               "--position", str(position), "--threads", "1"]
    if context is not None:
        context_file = work / f"{name}-context.safetensors"
        save_file({"keys": context[0].contiguous(), "values": context[1].contiguous()}, str(context_file))
        command += ["--context", str(context_file)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise Failure(f"lomad compress failed ({result.returncode}): {result.stderr.strip()}")
    return load_file(str(output))


def check_engine(folder: Path, lomad: Path, model: torch.nn.Module, hf: dict) -> None:
    loma = hf["loma"]
    tc, ratio = loma["segment_length"], loma["compression_ratio"]
    vocabulary = Vocabulary(memory_tokens=tc // ratio)
    layout = loma_layout(2, tc, ratio, vocabulary)
    raw = list(TEXT.encode("utf-8"))
    if len(raw) < layout.window_length:
        raise Failure(f"sample text has {len(raw)} bytes, the check needs {layout.window_length}")
    batch = layout.batch(torch.tensor([raw[:layout.window_length]]))
    with torch.no_grad():
        result = model(batch.input_ids, batch.positions, batch.mask)
    # Zone slots of the 2-segment layout: R_0 M_0 E_0 R_1 M_1 E_1.
    t = tc // ratio
    zone = {"R0": slice(0, tc), "M0": slice(tc, tc + t),
            "R1": slice(2 * tc + t, 3 * tc + t), "M1": slice(3 * tc + t, 3 * tc + 2 * t)}

    def kv(name: str) -> tuple[torch.Tensor, torch.Tensor]:
        keys = torch.stack([layer.keys[0, :, zone[name]] for layer in result.kv])
        values = torch.stack([layer.values[0, :, zone[name]] for layer in result.kv])
        return keys, values

    predicted = result.logits[0, layout.repetition_slots].argmax(-1)
    accuracy = float((predicted == batch.repetition_labels[0]).float().mean())
    print(f"engine: sample of 2 segments x {tc} tokens, ratio {ratio}; repetition accuracy of the "
          f"training layout on it: {accuracy:.3f}")

    with tempfile.TemporaryDirectory(prefix="loma-verify-") as work_dir:
        work = Path(work_dir)
        for segment, context in ((0, None), (1, kv("M0"))):
            keys, values = kv(f"R{segment}")
            engine = run_lomad(lomad, folder, work, f"segment{segment}", keys, values, segment * tc, context)
            expected_keys, expected_values = kv(f"M{segment}")
            expected_positions = layout.positions[zone[f"M{segment}"]]
            if engine["positions"].tolist() != expected_positions.tolist():
                raise Failure(f"segment {segment}: lomad positions {engine['positions'].tolist()} != "
                              f"training positions {expected_positions.tolist()}")
            check(f"segment {segment} memory keys, lomad vs training layout",
                  relative_error(engine["keys"], expected_keys))
            check(f"segment {segment} memory values, lomad vs training layout",
                  relative_error(engine["values"], expected_values))
            print(f"  segment {segment} memory positions {engine['positions'].tolist()} (ok)")
        # The same two segments as one block (loma-spec 3.3): lomad chains the memory itself.
        (k0, v0), (k1, v1) = kv("R0"), kv("R1")
        block = run_lomad(lomad, folder, work, "block", torch.cat((k0, k1), 2), torch.cat((v0, v1), 2), 0, None)
        (mk0, mv0), (mk1, mv1) = kv("M0"), kv("M1")
        check("two-segment block memory keys, lomad vs training layout",
              relative_error(block["keys"], torch.cat((mk0, mk1), 2)))
        check("two-segment block memory values, lomad vs training layout",
              relative_error(block["values"], torch.cat((mv0, mv1), 2)))


def main() -> int:
    here = Path(__file__).resolve().parent
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", type=Path, default=here.parent / "Models/loma-tiny")
    parser.add_argument("--lomad", type=Path, default=here.parent / ".build/debug/lomad")
    args = parser.parse_args()
    if not args.lomad.exists():
        print(f"error: no lomad at {args.lomad}; build it with 'swift build' at the repository root", file=sys.stderr)
        return 1
    torch.manual_seed(0)
    model, hf = load_exported(args.model)
    try:
        check_tokenizer(args.model, hf)
        check_transformers(args.model, model, torch.tensor([list(TEXT.encode("utf-8"))]))
        check_engine(args.model, args.lomad, model, hf)
    except Failure as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
