#!/usr/bin/env bash
# Regenerates Tests/LoMAModelTests/Fixtures/transformers (Tools/make_transformers_fixtures.py) in a
# private venv, .build/fixtures-venv (reused between runs), with torch, transformers and numpy.
# torch: the CPU wheel in /opt/wheels when this machine has one, else PyPI's (which bundles CUDA,
# several GB). CI never runs this; it only compares the committed fixtures with the Swift engine.
#
#   Tools/make_transformers_fixtures.sh [--output DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
venv=$root/.build/fixtures-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || { echo "make_transformers_fixtures.sh: python3 -m venv failed (Debian: apt-get install -y python3-venv)" >&2; exit 1; }
fi
if ! "$venv/bin/python" -c "import torch, transformers, numpy" 2>/dev/null; then
    wheel=$(ls /opt/wheels/torch-*+cpu-*.whl 2>/dev/null | head -1 || true)
    "$venv/bin/python" -m pip install --quiet ${wheel:-torch}
    "$venv/bin/python" -m pip install --quiet "transformers>=5.0" "numpy>=1.26" "safetensors>=0.4"
fi
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
exec "$venv/bin/python" "$root/Tools/make_transformers_fixtures.py" "$@"
