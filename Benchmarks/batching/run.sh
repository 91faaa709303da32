#!/usr/bin/env bash
# Batching benchmark (issue 19, item 3): compress requests per second through lomad on the
# Llama-3.2-1B-shaped bench model with 1, 4 and 16 concurrent clients, batching on and off,
# against the engine's best in-process throughput (loma-bench, passes of 1, 4 and 16 segments)
# measured in the same run. Goals at 16 clients: >= 0.90 of the engine's best, >= 1.3x off.
#
# The model (~1 GB, random weights) is generated once into Benchmarks/.work/bench-model by
# Tools/make_bench_model.py, as Benchmarks/engine/run.sh does. Environment: REQUESTS (32, per
# cell, split across its clients), CLIENTS (1,4,16). Output: Benchmarks/.work/batching/result.md.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work="$root/Benchmarks/.work"
model="$work/bench-model"
mkdir -p "$work/batching"
if [ ! -f "$model/model.safetensors" ]; then
    python3 "$root/Tools/make_bench_model.py" "$model" >&2
fi

echo "building release lomad and loma-bench..." >&2
(cd "$root" && swift build -c release --product lomad >&2 && swift build -c release --product loma-bench >&2)
bin="$(cd "$root" && swift build -c release --show-bin-path)"

venv="$root/.build/store-bench-venv"
if ! "$venv/bin/python" -c "import zmq, numpy, google.protobuf" 2>/dev/null; then
    echo "creating $venv..." >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet pyzmq numpy protobuf redis >&2
fi

memory_tokens=$(python3 -c "import json;c=json.load(open('$model/config.json'))['loma'];print(c['segment_length']//c['compression_ratio'])")
{
    echo "Batching benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "engine: loma-bench passes of 1, 4, 16 segments..." >&2
    "$bin/loma-bench" --model "$model" --tokens "$memory_tokens,$((4 * memory_tokens)),$((16 * memory_tokens))" --repeat 2 \
        > "$work/batching/engine.json"
    PYTHONPATH="$root/Examples/python" "$venv/bin/python" "$here/batching.py" --lomad "$bin/lomad" --model "$model" \
        --engine-json "$work/batching/engine.json" --clients "${CLIENTS:-1,4,16}" --requests "${REQUESTS:-32}"
    echo
    echo "Load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$work/batching/result.md"
