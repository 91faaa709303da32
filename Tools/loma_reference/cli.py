"""Command line: `python3 -m Tools.loma_reference compress|bench ...` from the repository root."""

from __future__ import annotations

import argparse
import sys

from .config import ConfigError
from .kv_files import LAYOUTS, KVFileError, read_kv, write_kv
from .memory_pass import InputError
from .model import METHODS, compress
from .safetensors_np import SafetensorsError
from .weights import WeightsError


def _compress(arguments: argparse.Namespace) -> None:
    keys, values, dtype = read_kv(arguments.input, arguments.layout)
    context_keys = context_values = None
    if arguments.context:
        context_keys, context_values, _ = read_kv(arguments.context)
    _, memory = compress(
        arguments.model, keys, values, arguments.position, arguments.method, context_keys, context_values
    )
    write_kv(
        arguments.output,
        memory.keys,
        memory.values,
        dtype="F32",
        positions=memory.positions,
        metadata={"method": arguments.method, "position": str(arguments.position), "input_dtype": dtype},
    )
    print(
        f"{arguments.method}: {keys.shape[2]} tokens -> {memory.keys.shape[2]} memory tokens "
        f"(positions {memory.positions[0]}..{memory.positions[-1]}) written to {arguments.output}"
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python3 -m Tools.loma_reference", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("compress", help="float64 reference compression of a KV file")
    run.add_argument("--model", required=True, help="checkpoint folder (config.json + safetensors)")
    run.add_argument("--input", required=True, help="KV safetensors file with keys/values")
    run.add_argument("--output", required=True, help="output KV file (F32 keys/values, I64 positions)")
    run.add_argument("--context", help="KV file (heads-major) of what the client holds before the block")
    run.add_argument("--position", type=int, default=0, help="absolute position of the block's first token")
    run.add_argument("--method", choices=METHODS, default="loma")
    run.add_argument("--layout", choices=LAYOUTS, default="heads_major", help="layout of --input")
    run.set_defaults(handler=_compress)
    bench = commands.add_parser("bench", help="float32 numpy timing; see bench.py --help", add_help=False)
    bench.set_defaults(handler=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["bench"]:
        from .bench import main as bench_main

        return bench_main(argv[1:])
    arguments = build_parser().parse_args(argv)
    try:
        arguments.handler(arguments)
    except (ConfigError, KVFileError, InputError, SafetensorsError, WeightsError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0
