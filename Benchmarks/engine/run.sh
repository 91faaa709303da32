#!/usr/bin/env bash
# Engine benchmark: the Swift memory pass against the machine's own OpenBLAS sgemm rate, memcpy
# bandwidth (weight-streaming floor) and the numpy implementation of the same pass, all measured
# in this run. Prints a markdown table of ratios (paste into docs/benchmarks-engine.md).
#
#   Benchmarks/engine/run.sh [--tokens 16,64,256] [--repeat 3] [--skip-numpy]
#
# The Llama-3.2-1B-shaped bf16 checkpoint (~2 GB) is generated once into Benchmarks/.work/
# (git-ignored) by Tools/make_bench_model.py; the small fixture models are timed as well.
set -euo pipefail
cd "$(dirname "$0")/../.."

tokens=16,64,256
repeat=3
numpy=1
while [ $# -gt 0 ]; do
    case "$1" in
        --tokens) tokens=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        --skip-numpy) numpy=0; shift ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

work=Benchmarks/.work
model=$work/bench-model
mkdir -p "$work"
if [ ! -f "$model/model.safetensors" ]; then
    python3 Tools/make_bench_model.py "$model" >&2
fi
swift build -c release --product loma-bench >&2
bench=$(swift build -c release --show-bin-path)/loma-bench

"$bench" --model "$model" --tokens "$tokens" --repeat "$repeat" > "$work/swift.json"
if [ "$numpy" = 1 ]; then
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python3 -m Tools.loma_reference.bench \
        --model "$model" --tokens "$tokens" --repeat "$repeat" --json > "$work/numpy.json"
else
    echo '{}' > "$work/numpy.json"
fi
# Small fixture models: ratios only make sense against their own tiny sizes; reported for scale.
for small in Tests/LoMAModelTests/Fixtures/models/llama_gqa Tests/LoMAModelTests/Fixtures/models/qwen2_tied; do
    t=$(python3 -c "import json,sys;c=json.load(open('$small/config.json'))['loma'];print(c['segment_length']//c['compression_ratio'])")
    "$bench" --model "$small" --tokens "$t,$((4*t)),$((16*t))" --repeat "$repeat" > "$work/small-$(basename "$small").json"
done

python3 - "$work" <<'PY'
import json, sys, glob, os
work = sys.argv[1]
swift = json.load(open(f"{work}/swift.json"))
numpy = json.load(open(f"{work}/numpy.json"))
np_rows = {r["memory_tokens"]: r for r in numpy.get("results", [])}
gib = 1 << 30
print(f"Llama-3.2-1B-shaped, bf16 on disk, f32 in memory; BLAS threads {swift['blas_threads']}\n")
print(f"- OpenBLAS sgemm 2048^3 (Swift process): {swift['sgemm_2048_gflops']:.1f} GFLOP/s")
if numpy:
    print(f"- numpy sgemm 2048^3 (numpy process): {numpy['sgemm_2048_gflops']:.1f} GFLOP/s")
print(f"- memcpy: {swift['memcpy_gbps']:.2f} GB/s; weights held {swift['weight_bytes']/gib:.2f} GiB; "
      f"weight-streaming floor {swift['weight_stream_floor_seconds']:.3f} s")
print(f"- peak RSS {swift['peak_rss_bytes']/gib:.2f} GiB = {swift['peak_rss_bytes']/swift['weight_bytes']:.2f} x weights held "
      f"(after load {swift['peak_rss_after_load_bytes']/gib:.2f} GiB); load {swift['load_seconds']:.1f} s\n")
print("| memory tokens | jobs | Swift s | mem tok/s | GFLOP/s | x sgemm | x floor | numpy s | numpy GFLOP/s | Swift speed-up vs numpy |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in swift["results"]:
    n = np_rows.get(r["memory_tokens"])
    ns = f"{n['seconds']:.3f}" if n else "-"
    ng = f"{n['gflops']:.1f}" if n else "-"
    sp = f"{n['seconds']/r['seconds']:.2f}" if n else "-"
    print(f"| {r['memory_tokens']} | {r['jobs']} | {r['seconds']:.3f} | {r['memory_tokens_per_s']:.1f} | {r['gflops']:.1f} | "
          f"{r['of_sgemm']:.2f} | {r['of_floor']:.2f} | {ns} | {ng} | {sp} |")
for path in sorted(glob.glob(f"{work}/small-*.json")):
    s = json.load(open(path))
    print(f"\nSmall model {os.path.basename(s['model'])} (weights {s['weight_bytes']/1024:.0f} KiB):\n")
    print("| memory tokens | jobs | mem tok/s | GFLOP/s |")
    print("|---:|---:|---:|---:|")
    for r in s["results"]:
        print(f"| {r['memory_tokens']} | {r['jobs']} | {r['memory_tokens_per_s']:.0f} | {r['gflops']:.2f} |")
PY
