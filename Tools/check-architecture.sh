#!/usr/bin/env bash
# Checks the module graph against Tools/architecture-rules.txt (docs/architecture.md "Rules"):
# every Swift file's imports against its target's allowed edges and Package.swift's declared
# dependencies, the `never` rules through every chain of dependencies, and, with ldd, that the
# built lomactl links no BLAS. Run after `swift build` (or `swift test`); .ci/run calls it.
#
#   Tools/check-architecture.sh            check the package and .build/debug's executables
#   ARCHITECTURE_BINARIES=DIR ...          read the executables from DIR instead
#
# Needs python3 (standard library only) and ldd. Exits 1 naming each file and import at fault.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# The checker first proves on an invented package that it reports each kind of violation.
python3 Tools/architecture_check.py --self-test
package=$(mktemp "${TMPDIR:-/tmp}/lomad-package.XXXXXX.json")
trap 'rm -f "$package"' EXIT
swift package dump-package >"$package"
python3 Tools/architecture_check.py "$package" --root . --binaries "${ARCHITECTURE_BINARIES:-.build/debug}"
