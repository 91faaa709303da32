"""float32 numpy timing of the memory pass, with numpy's own sgemm as the baseline.

    python3 -m Tools.loma_reference.bench --model DIR --tokens 16,64,256 [--context 0] [--repeat 3] [--json]

Each batch of m memory tokens is m/t independent one-segment jobs stacked into the same
projection matmuls (attention stays per job). The math is the reference's (same code), with
float32 weights and activations. GFLOP/s counts 2*m*n*k for every matmul, attention included;
the sgemm line (square 2048 float32 matmul) gives the machine's ceiling measured in the same run,
and `of_sgemm` is the pass's rate as a fraction of it.

OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE, when set in the environment, can slow numpy's BLAS; run as
`env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 -m Tools.loma_reference.bench ...` for the
library's own tuning.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np

from .memory_pass import MatmulCounter
from .model import open_model


def best_seconds(run, repeat: int) -> float:
    run()  # warm-up: page in weights, size BLAS buffers
    best = float("inf")
    for _ in range(repeat):
        begin = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - begin)
    return best


def sgemm_gflops(size: int, repeat: int) -> float:
    rng = np.random.default_rng(0)
    a = rng.standard_normal((size, size), dtype=np.float32)
    b = rng.standard_normal((size, size), dtype=np.float32)
    return 2 * size**3 / best_seconds(lambda: a @ b, repeat) / 1e9


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", required=True)
    parser.add_argument("--tokens", default="16,64,256", help="memory tokens per batch, comma separated")
    parser.add_argument("--context", type=int, default=0, help="context tokens each job attends to besides its segment")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per size (best is reported)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    arguments = parser.parse_args(argv)

    model = open_model(arguments.model, np.float32)
    config = model.config
    t = config.loma.memory_tokens
    sizes = [int(s) for s in arguments.tokens.split(",") if s.strip()]
    bad = [s for s in sizes if s <= 0 or s % t != 0]
    if bad:
        parser.error(f"--tokens {bad}: each must be a positive multiple of t = {t} memory tokens per segment")

    sgemm = sgemm_gflops(2048, arguments.repeat)
    rng = np.random.default_rng(0)
    attended = arguments.context + config.loma.segment_length
    results = []
    for size in sizes:
        jobs = size // t
        shape = (config.num_hidden_layers, jobs, config.num_key_value_heads, attended, config.head_dim)
        keys = rng.standard_normal(shape, dtype=np.float32)
        values = rng.standard_normal(shape, dtype=np.float32)
        starts = np.arange(jobs, dtype=np.int64) * config.loma.segment_length + arguments.context
        counter = MatmulCounter()
        model.segment(keys, values, starts, counter)
        seconds = best_seconds(lambda: model.segment(keys, values, starts), arguments.repeat)
        gflops = counter.flops / seconds / 1e9
        results.append(
            {
                "memory_tokens": size,
                "jobs": jobs,
                "seconds": seconds,
                "memory_tokens_per_s": size / seconds,
                "segment_tokens_per_s": jobs * config.loma.segment_length / seconds,
                "gflop": counter.flops / 1e9,
                "gflops": gflops,
                "of_sgemm": gflops / sgemm,
            }
        )
    report = {
        "model": os.path.abspath(arguments.model),
        "layers": config.num_hidden_layers,
        "hidden_size": config.hidden_size,
        "segment_length": config.loma.segment_length,
        "memory_tokens_per_segment": t,
        "context_tokens": arguments.context,
        "numpy": np.__version__,
        "openblas_env": {k: os.environ[k] for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS") if k in os.environ},
        "sgemm_2048_gflops": sgemm,
        "results": results,
    }
    if arguments.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"numpy sgemm 2048x2048 f32: {sgemm:.1f} GFLOP/s (baseline, same run)")
    if report["openblas_env"]:
        print(f"note: {report['openblas_env']} set; see --help")
    for r in results:
        print(
            f"{r['memory_tokens']:5d} memory tokens ({r['jobs']:3d} jobs): {r['memory_tokens_per_s']:9.1f} mem tok/s "
            f"{r['gflops']:7.1f} GFLOP/s = {r['of_sgemm']:.2f} x sgemm"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
