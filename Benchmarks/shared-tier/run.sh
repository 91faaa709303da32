#!/usr/bin/env bash
# Shared-tier benchmark (not a test): a second store reading sequences from Redis (the daemon's
# store path with RedisSharedTier) against plain GETs of the same bytes from the same Redis, for
# 16 KiB and 1 MiB segments and 1 and 16 client threads, as ratios measured in this one run.
# Starts its own redis-server on a free port (no persistence: this measures reads) and removes it.
#
# Environment: ROUNDS (3)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work="$root/Benchmarks/.work/shared-tier"
mkdir -p "$work"
rounds=${ROUNDS:-3}

(cd "$root" && swift build -c release --product shared-tier-bench >&2)
bench="$(cd "$root" && swift build -c release --show-bin-path)/shared-tier-bench"

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" --daemonize no \
    --logfile "$work/redis.log" &
redis_pid=$!
trap 'kill "$redis_pid" 2>/dev/null || true' EXIT
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

echo "# load: $(uptime)"
"$bench" "$port" "$rounds" | tee "$work/results.txt"
