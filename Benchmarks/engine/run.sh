#!/usr/bin/env bash
# Engine benchmark: the Swift memory pass (lomad's default engine: bf16 weights for this bf16
# checkpoint, the best kernel here; and the f32-weights variant) against, all measured in this
# run: the numpy implementation of the same pass, a torch CPU pass of the same work (optional),
# sgemm 2048^3 of both BLAS builds (Debian's OpenBLAS in the Swift process, numpy's own in the
# numpy process) and torch's, memcpy bandwidth and the weight-streaming floor of the weights as
# held. Prints markdown (paste into docs/benchmarks-engine.md) with `uptime` before and after.
#
#   Benchmarks/engine/run.sh [--tokens 16,64,256] [--repeat 3] [--threads 2] [--skip-numpy]
#                            [--torch-python PYTHON]
#
# PYTHON: an interpreter with torch, numpy and safetensors (the torch column's only dependency;
# without it the column says "not installed"). Run on a machine as quiet as you can get, with
# `env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE` so each BLAS uses its own tuning.
#
# The Llama-3.2-1B-shaped bf16 checkpoint (~2 GB) is generated once into Benchmarks/.work/
# (git-ignored) by Tools/make_bench_model.py; the small fixture models are timed as well.
set -euo pipefail
cd "$(dirname "$0")/../.."

tokens=16,64,256
repeat=3
threads=2
numpy=1
torch_python=
while [ $# -gt 0 ]; do
    case "$1" in
        --tokens) tokens=$2; shift 2 ;;
        --repeat) repeat=$2; shift 2 ;;
        --threads) threads=$2; shift 2 ;;
        --skip-numpy) numpy=0; shift ;;
        --torch-python) torch_python=$2; shift 2 ;;
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

uptime > "$work/uptime-before.txt"
"$bench" --model "$model" --tokens "$tokens" --repeat "$repeat" --threads "$threads" > "$work/swift.json"
"$bench" --model "$model" --tokens "$tokens" --repeat "$repeat" --threads "$threads" --weights f32 > "$work/swift-f32.json"
if [ "$numpy" = 1 ]; then
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OPENBLAS_NUM_THREADS="$threads" python3 -m Tools.loma_reference.bench \
        --model "$model" --tokens "$tokens" --repeat "$repeat" --json > "$work/numpy.json"
else
    echo '{}' > "$work/numpy.json"
fi
if [ -n "$torch_python" ] && "$torch_python" -c "import torch, numpy, safetensors" 2>/dev/null; then
    "$torch_python" Benchmarks/engine/torch_pass.py --model "$model" --tokens "$tokens" --repeat "$repeat" \
        --threads "$threads" > "$work/torch.json"
else
    echo '{}' > "$work/torch.json"
fi
uptime > "$work/uptime-after.txt"
# Small fixture models: ratios only make sense against their own tiny sizes; reported for scale.
for small in Tests/LoMAModelTests/Fixtures/models/llama_gqa Tests/LoMAModelTests/Fixtures/models/qwen2_tied; do
    t=$(python3 -c "import json,sys;c=json.load(open('$small/config.json'))['loma'];print(c['segment_length']//c['compression_ratio'])")
    "$bench" --model "$small" --threads "$threads" --tokens "$t,$((4*t)),$((16*t))" --repeat "$repeat" > "$work/small-$(basename "$small").json"
done

python3 - "$work" <<'PY'
import json, sys, glob, os
work = sys.argv[1]
swift = json.load(open(f"{work}/swift.json"))
f32 = json.load(open(f"{work}/swift-f32.json"))
numpy = json.load(open(f"{work}/numpy.json"))
torch = json.load(open(f"{work}/torch.json"))
np_rows = {r["memory_tokens"]: r for r in numpy.get("results", [])}
torch_rows = {r["memory_tokens"]: r for r in torch.get("results", [])}
f32_rows = {r["memory_tokens"]: r for r in f32["results"]}
gib = 1 << 30
before = open(f"{work}/uptime-before.txt").read().strip()
after = open(f"{work}/uptime-after.txt").read().strip()
rates = {"OpenBLAS (Debian, Swift process)": swift["sgemm_2048_gflops"],
         "OpenBLAS (Debian, f32 run)": f32["sgemm_2048_gflops"]}
if numpy:
    rates["numpy's OpenBLAS (numpy process)"] = numpy["sgemm_2048_gflops"]
if torch:
    rates[f"torch {torch['torch']} (torch process)"] = torch["sgemm_2048_gflops"]
best_sgemm = max(rates.values())
print(f"Llama-3.2-1B-shaped (bf16 checkpoint), {swift['blas_threads']} threads; uptime before: `{before}`; after: `{after}`\n")
print(f"- lomad default engine: weights {swift['weights']}, kernel {swift['kernel']}; weights held {swift['weight_bytes']/gib:.2f} GiB "
      f"(f32 variant {f32['weight_bytes']/gib:.2f} GiB)")
for name, rate in rates.items():
    print(f"- sgemm 2048^3, {name}: {rate:.1f} GFLOP/s")
print(f"- memcpy: {swift['memcpy_gbps']:.2f} GB/s; weight-streaming floor of the weights as held: "
      f"bf16 {swift['weight_stream_floor_seconds']:.3f} s, f32 {f32['weight_stream_floor_seconds']:.3f} s (f32 run's memcpy {f32['memcpy_gbps']:.2f} GB/s)")
print(f"- peak RSS (engine: weights, load temporaries, inputs, scratch of every pass): {swift['peak_rss_bytes']/gib:.2f} GiB = "
      f"{swift['peak_rss_bytes']/swift['weight_bytes']:.2f} x weights held (f32 variant {f32['peak_rss_bytes']/f32['weight_bytes']:.2f} x); "
      f"load {swift['load_seconds']:.1f} s (f32 {f32['load_seconds']:.1f} s)")
print(f"- torch: {'not installed (run with --torch-python PYTHON)' if not torch else 'f32 weights, ' + str(torch['threads']) + ' threads'}\n")
print("| m | lomad s | x floor | GFLOP/s | x best sgemm | lomad f32 s | numpy s | torch s | x numpy | x torch |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in swift["results"]:
    m = r["memory_tokens"]
    n, t, f = np_rows.get(m), torch_rows.get(m), f32_rows.get(m)
    cell = lambda row: f"{row['seconds']:.3f}" if row else "not run"
    ratio = lambda row: f"{row['seconds']/r['seconds']:.2f}" if row else "-"
    torch_cell = cell(t) if torch else "not installed"
    print(f"| {m} | {r['seconds']:.3f} | {r['of_floor']:.2f} | {r['gflops']:.1f} | {r['gflops']/best_sgemm:.2f} | {cell(f)} | "
          f"{cell(n)} | {torch_cell} | {ratio(n)} | {ratio(t)} |")
print("\nx floor: lomad s / floor; x best sgemm: lomad GFLOP/s / the best sgemm above; x numpy, x torch: their s / lomad s.")
for path in sorted(glob.glob(f"{work}/small-*.json")):
    s = json.load(open(path))
    print(f"\nSmall model {os.path.basename(s['model'])} (weights {s['weight_bytes']/1024:.0f} KiB, {s['weights']}):\n")
    print("| memory tokens | jobs | mem tok/s | GFLOP/s |")
    print("|---:|---:|---:|---:|")
    for r in s["results"]:
        print(f"| {r['memory_tokens']} | {r['jobs']} | {r['memory_tokens_per_s']:.0f} | {r['gflops']:.2f} |")
PY
