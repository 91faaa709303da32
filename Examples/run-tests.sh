#!/usr/bin/env bash
# Builds and tests the examples against a real daemon: the Python client, the C client (installed
# into a temporary prefix and programs built against it with pkg-config; every C run under
# valgrind --leak-check=full), the numpy generation checked against the
# in-process reference, and the two-process prefix-sharing example. Run after `swift build`;
# .ci/run calls it. Exits non-zero on any failure.
#
# Python packages go into a private venv (.build/examples-venv, reused between runs).
# Needs: python3 with venv, make, cc, pkg-config, libzmq3-dev, libprotobuf-c-dev,
# protobuf-c-compiler, valgrind.
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
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "Examples/python[test]"

make -C Examples/c --no-print-directory

# pytest prints its summary line ("N passed in S s") last; its exit status is this script's.
cd Examples
exec "$venv/bin/python" -m pytest -p no:cacheprovider -q -rfE
