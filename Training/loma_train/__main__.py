"""Command line: `python -m loma_train {corpus,train,export,report,finetune,finetune-export}`
(run from `Training/`).

    python -m loma_train train --preset tiny --run runs/tiny --export ../Models/loma-tiny
    python -m loma_train train --preset tiny --run runs/tiny --resume      # after an interruption
    python -m loma_train finetune --base BASE.gguf --run runs/smollm2-r4 --steps 300
    python -m loma_train finetune-export --run runs/smollm2-r4 --name loma-smollm2-135m \
        --delta ../Models/deltas/loma-smollm2-135m --folder runs/smollm2-r4/model
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .base_model import BaseModelError
from .corpus import CORPORA, CorpusError, load_corpus
from .finetune import FineTuneError, FineTuner, FineTuneSettings, export_base_folder
from .lora import ALL_TARGETS
from .report import results_table
from .training import Trainer, TrainingError


# `finetune`'s settings flags: flag, the FineTuneSettings field it sets, help (the default is added).
_FINETUNE_FLAGS = [
    ("objective", "objective", "loma, or lm for the full-attention twin"),
    ("segment-length", "segment_length", "tokens per segment"),
    ("ratio", "compression_ratio", "compression ratio (4 or 8)"),
    ("segments", "segments_per_sequence", "segments per training sequence"),
    ("batch-size", "batch_size", "sequences per step"),
    ("steps", "steps", "optimizer steps"),
    ("learning-rate", "learning_rate", "peak learning rate (cosine decay to a tenth)"),
    ("warmup-steps", "warmup_steps", "linear warmup steps"),
    ("lora-rank", "lora_rank", "LoRA rank"),
    ("lora-alpha", "lora_alpha", "LoRA alpha (scale alpha/rank)"),
    ("eval-every", "eval_every", "steps between held-out evaluations"),
    ("eval-windows", "eval_windows", "held-out windows per evaluation"),
    ("checkpoint-every", "checkpoint_every", "steps between checkpoints"),
    ("seed", "seed", "seed of the new rows, adapters and batches"),
]


def _add_device_flags(command: argparse.ArgumentParser) -> None:
    command.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    command.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loma_train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path("cache/corpus"),
                        help="where the .deb files and the split are cached (default: cache/corpus)")
    commands = parser.add_subparsers(dest="command", required=True)
    corpus = commands.add_parser("corpus", help="fetch and split the corpus, print its statistics")
    corpus.add_argument("--corpus", default="docs", choices=sorted(CORPORA),
                        help="docs (the tiny models' corpus, in --cache) or prose (finetune's, in --cache/../prose)")
    train = commands.add_parser("train", help="train (or resume) a run; optionally export at the end")
    train.add_argument("--preset", default="tiny", help="tiny (shipped), tiny-r2, tiny-r8, tiny-lm, small (GPU)")
    train.add_argument("--run", type=Path, required=True, help="run folder: checkpoint, log, metrics")
    train.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    train.add_argument("--steps", type=int, help="override the preset's step count")
    _add_device_flags(train)
    train.add_argument("--export", type=Path, help="export the final model to this folder")
    export = commands.add_parser("export", help="export a run's checkpoint as a Hugging Face folder")
    export.add_argument("--run", type=Path, required=True)
    export.add_argument("--output", type=Path, required=True)
    finetune = commands.add_parser("finetune", help="LoMA (or plain-LM twin) fine-tuning of a pretrained checkpoint")
    finetune.add_argument("--run", type=Path, required=True, help="run folder: checkpoint, settings, metrics")
    finetune.add_argument("--resume", action="store_true", help="continue the run's checkpoint (--steps may extend it)")
    finetune.add_argument("--base", help="base checkpoint: a .gguf file or a Hugging Face folder")
    defaults = FineTuneSettings(base="")
    for flag, field, text in _FINETUNE_FLAGS:
        value = getattr(defaults, field)
        finetune.add_argument(f"--{flag}", type=type(value), default=None, help=f"{text} (default {value})")
    finetune.add_argument("--lora-targets", default=None, help=f"comma-separated (default {','.join(ALL_TARGETS)})")
    finetune.add_argument("--full", action="store_true", help="fine-tune every weight instead of LoRA")
    finetune.add_argument("--no-gradient-checkpointing", action="store_true",
                          help="keep activations (faster, more memory)")
    _add_device_flags(finetune)
    finetune.add_argument("--name", help="the delta's name (default: the --export-delta folder's name)")
    finetune.add_argument("--export-delta", type=Path, help="at the end, write the delta here (Models/deltas/NAME)")
    finetune.add_argument("--export-folder", type=Path,
                          help="at the end, write a full Hugging Face folder here (from the delta when "
                               "--export-delta is given)")
    finetune_export = commands.add_parser("finetune-export", help="a fine-tuning run's delta and/or full folder")
    finetune_export.add_argument("--run", type=Path, required=True)
    finetune_export.add_argument("--name", help="the delta's name (default: the --delta folder's name)")
    finetune_export.add_argument("--delta", type=Path, help="write the delta here (Models/deltas/NAME)")
    finetune_export.add_argument("--folder", type=Path,
                                 help="write a full Hugging Face folder here (from the delta when --delta is given)")
    finetune_export.add_argument("--threads", type=int, default=2)
    base_folder = commands.add_parser("base-folder", help="the untouched base checkpoint as a folder evaluate.py reads")
    base_folder.add_argument("--base", required=True, help="a .gguf file or a Hugging Face folder")
    base_folder.add_argument("--folder", type=Path, required=True)
    base_folder.add_argument("--segment-length", type=int, default=64)
    base_folder.add_argument("--ratio", type=int, default=4)
    report = commands.add_parser("report", help="markdown table of exported folders' training summaries")
    report.add_argument("folders", type=Path, nargs="+")
    args = parser.parse_args(argv)

    try:
        if args.command == "corpus":
            cache = args.cache if args.corpus == "docs" else args.cache.parent / args.corpus
            _, stats = load_corpus(cache, args.corpus)
            print(json.dumps(stats, indent=2))
        elif args.command == "train":
            trainer = Trainer.create(args.run, args.preset, args.cache, resume=args.resume, steps=args.steps,
                                     device=args.device, threads=args.threads)
            trainer.train()
            if args.export:
                trainer.export(args.export)
        elif args.command == "export":
            Trainer.from_checkpoint(args.run, args.cache).export(args.output)
        elif args.command == "finetune":
            run_finetune(args)
        elif args.command == "base-folder":
            export_base_folder(Path(args.base), args.folder, FineTuneSettings(
                base=args.base, segment_length=args.segment_length, compression_ratio=args.ratio))
            print(f"folder: {args.folder}")
        elif args.command == "finetune-export":
            tuner = FineTuner.resume(args.run, args.cache.parent, device="cpu", threads=args.threads)
            if not args.delta and not args.folder:
                raise FineTuneError("finetune-export needs --delta and/or --folder")
            _export(tuner, args.delta, args.folder, args.name)
        else:
            print(results_table(args.folders))
    except (CorpusError, TrainingError, FineTuneError, BaseModelError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


def run_finetune(args: argparse.Namespace) -> None:
    """`finetune`: a new run from --base and the flags, or --resume of an existing one. Corpora
    are cached next to --cache (cache/prose for the default corpus)."""
    cache = args.cache.parent
    if args.resume:
        tuner = FineTuner.resume(args.run, cache, args.device, args.threads, steps=args.steps)
    else:
        if not args.base:
            raise FineTuneError("finetune needs --base (a .gguf file or a Hugging Face folder) unless --resume")
        overrides = {field: getattr(args, flag.replace("-", "_")) for flag, field, _ in _FINETUNE_FLAGS
                     if getattr(args, flag.replace("-", "_")) is not None}
        if "learning_rate" in overrides:
            overrides["min_learning_rate"] = overrides["learning_rate"] / 10
        if args.lora_targets:
            overrides["lora_targets"] = tuple(t.strip() for t in args.lora_targets.split(",") if t.strip())
        settings = FineTuneSettings(base=str(Path(args.base).resolve()), full=args.full,
                                    gradient_checkpointing=not args.no_gradient_checkpointing, **overrides)
        tuner = FineTuner.create(args.run, settings, cache, args.device, args.threads)
    tuner.train()
    _export(tuner, args.export_delta, args.export_folder, args.name)


def _export(tuner: FineTuner, delta: Path | None, folder: Path | None, name: str | None) -> None:
    """The delta (named `name`, else after its folder) and/or the full folder (from the delta when
    both are given), as `finetune` and `finetune-export` write them."""
    if delta:
        tuner.export_delta(delta, name or delta.name)
        print(f"delta: {delta}")
    if folder:
        tuner.export_folder(folder, delta)
        print(f"folder: {folder}")


if __name__ == "__main__":
    sys.exit(main())
