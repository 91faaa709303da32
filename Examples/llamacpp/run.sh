#!/usr/bin/env bash
# Generates inside llama.cpp (through llama-cpp-python) while lomad compresses its KV cache: after
# every segment the segment's cells are read out of llama.cpp's sequence state, compressed by a
# real lomad, and the memory cells written back at their LoMA positions (docs/integrations.md,
# "llama.cpp").
#
#   Examples/llamacpp/run.sh --check            # exit 0 only if the greedy tokens equal numpy's
#   Examples/llamacpp/run.sh --prompt "text"    # generate and print (any generate_llamacpp.py option)
#   Examples/llamacpp/run.sh --test             # the pytest suite of Examples/llamacpp/tests
#
# Everything goes into .build/: a venv (.build/llamacpp-venv) and the llama-cpp-python wheel built
# from its sdist (.build/llamacpp-wheels), which the next run reuses: the first run compiles
# llama.cpp (about 490 CPU-seconds, some 4 minutes on 2 idle cores), later ones start at once.
# Examples/run-tests.sh (and so CI) runs `run.sh --test`.
# The daemon is $LOMAD_BIN, else the checkout's .build/debug/lomad (run swift build first).
# Needs: python3 with venv, a C/C++ compiler (cmake and ninja come from PyPI as build deps).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"

# The version whose vendored llama.cpp state format llama_state.py was written against
# (src/llama-kv-cache.cpp, state_write / state_read); llama_state.py refuses any other layout.
llama_cpp_version=0.3.36

venv=$root/.build/llamacpp-venv
wheels=$root/.build/llamacpp-wheels
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || { echo "run.sh: python3 -m venv failed (Debian: apt-get install -y python3-venv)" >&2; exit 1; }
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "numpy>=1.24" "gguf>=0.17" "pyzmq>=25" "protobuf>=4.21,<8" "pytest>=7"

wheel=$(ls "$wheels"/llama_cpp_python-"$llama_cpp_version"-*.whl 2>/dev/null | head -n 1 || true)
if [ -z "$wheel" ]; then
    echo "run.sh: building llama-cpp-python $llama_cpp_version from source into $wheels (once; minutes)" >&2
    mkdir -p "$wheels"
    started=$(date +%s)
    # CPU only and without the multimodal library, which this example never loads.
    CMAKE_ARGS="-DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF ${CMAKE_ARGS:-}" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
        "$venv/bin/python" -m pip wheel --quiet --no-deps --no-binary llama-cpp-python \
        --wheel-dir "$wheels" "llama-cpp-python==$llama_cpp_version" \
        || { echo "run.sh: building llama-cpp-python failed (needs a C/C++ compiler: apt-get install -y g++)" >&2; exit 1; }
    echo "run.sh: llama-cpp-python built in $(( $(date +%s) - started )) s" >&2
    wheel=$(ls "$wheels"/llama_cpp_python-"$llama_cpp_version"-*.whl | head -n 1)
fi
if ! "$venv/bin/python" -c "import llama_cpp, sys; sys.exit(llama_cpp.__version__ != '$llama_cpp_version')" 2>/dev/null; then
    "$venv/bin/python" -m pip install --quiet "$wheel"
fi

# The lomad client from this checkout (its generated protobuf code is committed), and the numpy
# generation the check compares with.
export PYTHONPATH="$root/Examples/python:$root/Examples/generation:$root/Examples/llamacpp${PYTHONPATH:+:$PYTHONPATH}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}

if [ "${1:-}" = "--test" ]; then
    shift
    cd "$root/Examples"
    exec "$venv/bin/python" -m pytest -p no:cacheprovider -q -rfE llamacpp/tests "$@"
fi
exec "$venv/bin/python" "$root/Examples/llamacpp/generate_llamacpp.py" "$@"
