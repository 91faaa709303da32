#!/usr/bin/env bash
# Runs the torch-tensor and LomadCache tests on each transformers version lomad_client.hf supports,
# each in a fresh venv: CI tests only the version pip resolves (Examples/run-tests.sh); this is the
# documented check for the others (docs/integrations.md, "transformers"). Not run by CI: it
# installs torch and transformers once per version.
#
#     Examples/python/check-transformers-versions.sh               # 4.57.6 and the newest 5.x
#     Examples/python/check-transformers-versions.sh 4.56.2 5.24.0
#
# Needs the daemon (LOMAD_BIN, default .build/debug/lomad) and python3 with venv. The venvs stay in
# .build/transformers-<version> for the next run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export LOMAD_BIN=${LOMAD_BIN:-$root/.build/debug/lomad}
[ -x "$LOMAD_BIN" ] || { echo "check-transformers-versions.sh: $LOMAD_BIN not found; run swift build first (or set LOMAD_BIN)" >&2; exit 1; }
versions=("$@")
[ ${#versions[@]} -gt 0 ] || versions=(4.57.6 "5")

# The client is installed from a copy: building in Examples/python would leave build/ and *.egg-info there.
copy=$(mktemp -d "${TMPDIR:-/tmp}/lomad-client-src.XXXXXX")
trap 'rm -rf "$copy"' EXIT
tar -C Examples/python --exclude=build --exclude='*.egg-info' --exclude=__pycache__ -cf - . | tar -C "$copy" -xf -

failed=()
for version in "${versions[@]}"; do
    venv=$root/.build/transformers-$version
    [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
    if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
        tag=$("$venv/bin/python" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
        torch_wheel=$(ls /opt/wheels/torch-*+cpu-"$tag"-"$tag"-*.whl 2>/dev/null | head -n 1 || true)
        "$venv/bin/python" -m pip install --quiet "${torch_wheel:-torch}"
    fi
    # A bare major version ("5") means the newest release of it.
    if [[ $version == *.* ]]; then requirement="transformers==$version"; else requirement="transformers>=$version,<$((version + 1))"; fi
    "$venv/bin/python" -m pip install --quiet "$requirement" pytest "$copy[test]"
    installed=$("$venv/bin/python" -c 'import transformers; print(transformers.__version__)')
    echo "== transformers $installed"
    # The installed client, as in CI: run from Examples so conftest.py and testing_support.py are found.
    if (cd Examples && OMP_NUM_THREADS=1 "$venv/bin/python" -m pytest -p no:cacheprovider -q -W ignore::FutureWarning \
            python/tests/test_hf_cache.py python/tests/test_torch_tensors.py); then
        echo "== transformers $installed: passed"
    else
        failed+=("$installed")
    fi
done
[ ${#failed[@]} -eq 0 ] || { echo "check-transformers-versions.sh: failed on transformers ${failed[*]}" >&2; exit 1; }
echo "check-transformers-versions.sh: all passed (${versions[*]})"
