#!/usr/bin/env bash
# Overload benchmark (issue 8, item 5): measures lomad's compress capacity, then has 16 clients
# offer OVERLOAD (10) times that for SECONDS (60) seconds, and reports replies by status and the
# daemon's RSS before/peak/after against its configured budgets. Markdown to stdout and to
# Benchmarks/.work/overload/result.md.
#
# Usage: Benchmarks/overload/run.sh [SECONDS]   Environment: OVERLOAD (10) SEGMENTS (8) WORKERS (1)
set -euo pipefail
seconds=${1:-60}
# shellcheck source=../soak/prepare.sh
source "$(dirname "$0")/../soak/prepare.sh"
work="$root/Benchmarks/.work/overload"
mkdir -p "$work"
"$python" "$root/Benchmarks/overload/overload.py" --lomad "$lomad" --model "$root/Models/loma-tiny" --seconds "$seconds" \
    --overload "${OVERLOAD:-10}" --segments "${SEGMENTS:-8}" --workers "${WORKERS:-1}" | tee "$work/result.md"
