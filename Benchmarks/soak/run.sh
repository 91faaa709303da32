#!/usr/bin/env bash
# Soak benchmark (issue 8, item 8): mixed load on a release lomad serving Models/loma-tiny for
# MINUTES minutes (default 30; try 1 first), reporting requests, errors by status, p50/p99 latency
# per operation and RSS at the start, every minute and the end. The markdown result goes to stdout
# and to Benchmarks/.work/soak/result-MINUTES.md.
#
# Usage: Benchmarks/soak/run.sh [MINUTES]   Environment: CLIENTS (8) WORKERS (2)
set -euo pipefail
minutes=${1:-30}
# shellcheck source=prepare.sh
source "$(dirname "$0")/prepare.sh"
work="$root/Benchmarks/.work/soak"
mkdir -p "$work"
"$python" "$root/Benchmarks/soak/soak.py" --lomad "$lomad" --model "$root/Models/loma-tiny" --minutes "$minutes" \
    --clients "${CLIENTS:-8}" --workers "${WORKERS:-2}" | tee "$work/result-$minutes.md"
