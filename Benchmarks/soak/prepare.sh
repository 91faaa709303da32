# Sourced by Benchmarks/soak/run.sh and Benchmarks/overload/run.sh: builds release lomad and a
# Python environment with the lomad_client dependencies, then sets
#   root    the package root
#   lomad   the release lomad binary
#   python  the interpreter to run a benchmark with (PYTHONPATH already holds lomad_client and loadkit)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

echo "building release lomad..." >&2
(cd "$root" && swift build -c release --product lomad >&2)
lomad="$(cd "$root" && swift build -c release --show-bin-path)/lomad"

venv="$root/.build/examples-venv"
if ! "$venv/bin/python" -c "import zmq, numpy, google.protobuf" 2>/dev/null; then
    echo "creating $venv..." >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet pyzmq numpy protobuf >&2
fi
python="$venv/bin/python"
export PYTHONPATH="$root/Examples/python:$root/Benchmarks/soak${PYTHONPATH:+:$PYTHONPATH}"
