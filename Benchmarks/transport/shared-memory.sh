#!/usr/bin/env bash
# Same-host shared memory against frames: 32 MiB compress-input and store-read round trips
# through a release lomad on ipc, beside memcpy, in one run (Benchmarks/transport/shared_memory.py
# says what is measured). Uses the examples venv (Examples/run-tests.sh makes it) or makes a small
# one with numpy, pyzmq and protobuf. Records `uptime` first: the machine is shared.
#
# Environment: TRIPS (5) ROUNDS (3) BYTES (33554432)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work="$root/Benchmarks/.work/shared-memory"
rm -rf "$work"
mkdir -p "$work"

venv=$root/.build/examples-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import numpy, zmq, google.protobuf' 2>/dev/null; then
    venv=$root/.build/bench-venv
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet numpy pyzmq protobuf
fi

echo "building lomad (release)..." >&2
(cd "$root" && swift build -c release --product lomad >&2)
bin="$(cd "$root" && swift build -c release --show-bin-path)"

endpoint="ipc://$work/lomad.sock"
"$bin/lomad" serve --endpoint "$endpoint" --log-level warning --batch-window-ms 0 \
    --model "m=$root/Models/loma-tiny" & lomad_pid=$!
trap 'kill $lomad_pid 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -S "$work/lomad.sock" ] && break; sleep 0.1; done

echo "load: $(uptime)"
"$venv/bin/python" "$here/shared_memory.py" --endpoint "$endpoint" --trips "${TRIPS:-5}" --rounds "${ROUNDS:-3}" \
    --bytes "${BYTES:-33554432}"
