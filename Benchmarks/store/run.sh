#!/usr/bin/env bash
# Store benchmark (issue 19, item 2): lomad's store operations (publish_prefix, lookup_prefix,
# compress into a sequence, read_memory) of 16 KiB and 1 MiB memories, with 1 and 16 clients,
# against redis-server (persistence off) SET/GET, or MSET/MGET of 16 KiB values for the batched
# 1 MiB case, moving the same bytes with the same client language and client count, all in one
# run: Python clients (store.py, redis-py) and Swift clients (store-bench, LoMAClient beside a
# minimal RESP client). Both servers listen on tcp loopback. Prints markdown tables of rates and
# lomad/Redis ratios (goal >= 1.0); raw output goes to Benchmarks/.work/store/.
#
# Needs redis-server on PATH. Environment: OPS (2000, per 16 KiB cell; 1 MiB cells run OPS/16),
# ROUNDS (3), CLIENTS (1,16), SIZES (16384,1048576), LANGUAGES (python swift).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work="$root/Benchmarks/.work/store"
mkdir -p "$work"
command -v redis-server >/dev/null || { echo "redis-server is not on PATH (apt-get install redis-server)" >&2; exit 1; }

echo "building release lomad and store-bench..." >&2
(cd "$root" && swift build -c release --product lomad >&2 && swift build -c release --product store-bench >&2)
bin="$(cd "$root" && swift build -c release --show-bin-path)"

venv="$root/.build/store-bench-venv"
if ! "$venv/bin/python" -c "import zmq, numpy, google.protobuf, redis" 2>/dev/null; then
    echo "creating $venv..." >&2
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet pyzmq numpy protobuf redis >&2
fi

arguments=(--lomad "$bin/lomad" --model "$root/Models/loma-tiny" --ops "${OPS:-2000}" --rounds "${ROUNDS:-3}"
           --clients "${CLIENTS:-1,16}" --sizes "${SIZES:-16384,1048576}")
{
    echo "Store benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    for language in ${LANGUAGES:-python swift}; do
        case "$language" in
            python) PYTHONPATH="$root/Examples/python" "$venv/bin/python" "$here/store.py" "${arguments[@]}" ;;
            swift) "$bin/store-bench" "${arguments[@]}" ;;
        esac
    done
    echo
    echo "Load after: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee "$work/result.md"
