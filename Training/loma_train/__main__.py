"""Command line: `python -m loma_train {corpus,train,export,report}` (run from `Training/`).

    python -m loma_train train --preset tiny --run runs/tiny --export ../Models/loma-tiny
    python -m loma_train train --preset tiny --run runs/tiny --resume      # after an interruption
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .corpus import CorpusError, load_corpus
from .report import results_table
from .training import Trainer, TrainingError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m loma_train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", type=Path, default=Path("cache/corpus"),
                        help="where the .deb files and the split are cached (default: cache/corpus)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("corpus", help="fetch and split the corpus, print its statistics")
    train = commands.add_parser("train", help="train (or resume) a run; optionally export at the end")
    train.add_argument("--preset", default="tiny", help="tiny (shipped), tiny-r2, tiny-r8, tiny-lm, small (GPU)")
    train.add_argument("--run", type=Path, required=True, help="run folder: checkpoint, log, metrics")
    train.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    train.add_argument("--steps", type=int, help="override the preset's step count")
    train.add_argument("--device", default=None, help="cpu or cuda (default: cuda when available)")
    train.add_argument("--threads", type=int, default=2, help="CPU threads (default 2)")
    train.add_argument("--export", type=Path, help="export the final model to this folder")
    export = commands.add_parser("export", help="export a run's checkpoint as a Hugging Face folder")
    export.add_argument("--run", type=Path, required=True)
    export.add_argument("--output", type=Path, required=True)
    report = commands.add_parser("report", help="markdown table of exported folders' training summaries")
    report.add_argument("folders", type=Path, nargs="+")
    args = parser.parse_args(argv)

    try:
        if args.command == "corpus":
            _, stats = load_corpus(args.cache)
            print(json.dumps(stats, indent=2))
        elif args.command == "train":
            trainer = Trainer.create(args.run, args.preset, args.cache, resume=args.resume, steps=args.steps,
                                     device=args.device, threads=args.threads)
            trainer.train()
            if args.export:
                trainer.export(args.export)
        elif args.command == "export":
            Trainer.from_checkpoint(args.run, args.cache).export(args.output)
        else:
            print(results_table(args.folders))
    except (CorpusError, TrainingError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
