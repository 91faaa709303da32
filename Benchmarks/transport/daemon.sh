#!/usr/bin/env bash
# Small-request latency through a running lomad, beside the same exchange against a plain C
# libzmq ROUTER echo process, measured in this one run over ipc and tcp loopback.
#
# The client (transport-bench client, the Swift ZeroMQ layer) sends the same bytes to both: a
# loma.v1 health request (08 01 52 00: request_id 1, health {}). lomad decodes and validates the
# envelope, answers from its broker thread and encodes a reply; the echo process only moves
# frames back. Rounds alternate between the two and each cell keeps its best round.
#
# Environment: REQUESTS (20000) ROUNDS (5)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work="$root/Benchmarks/.work/transport-daemon"
rm -rf "$work"
mkdir -p "$work"
requests=${REQUESTS:-20000}
rounds=${ROUNDS:-5}
health=08015200

echo "building (release)..." >&2
# shellcheck disable=SC2046  # pkg-config output is meant to split into flags
cc -O2 -Wall -Wextra -o "$work/transport-c" "$here/transport_c.c" $(pkg-config --cflags --libs libzmq) -lpthread
(cd "$root" && swift build -c release --product transport-bench >&2 && swift build -c release --product lomad >&2)
bin="$(cd "$root" && swift build -c release --show-bin-path)"

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
lomad_tcp="tcp://127.0.0.1:$(port)"
echo_tcp="tcp://127.0.0.1:$(port)"
lomad_ipc="ipc://$work/lomad.sock"
echo_ipc="ipc://$work/echo.sock"

"$work/transport-c" echo "$echo_ipc" & echo_ipc_pid=$!
"$work/transport-c" echo "$echo_tcp" & echo_tcp_pid=$!
"$bin/lomad" serve --endpoint "$lomad_ipc" --endpoint "$lomad_tcp" --log-level warning & lomad_pid=$!
trap 'kill $echo_ipc_pid $echo_tcp_pid $lomad_pid 2>/dev/null || true' EXIT
sleep 1

results="$work/results.txt"
: >"$results"
for round in $(seq "$rounds"); do
    echo "round $round/$rounds" >&2
    for pair in "ipc c $echo_ipc" "ipc lomad $lomad_ipc" "tcp c $echo_tcp" "tcp lomad $lomad_tcp"; do
        set -- $pair
        line=$("$bin/transport-bench" client --endpoint "$3" --requests "$requests" --warmup 1000 --frame-hex "$health")
        echo "transport=$1 peer=$2 $line" >>"$results"
    done
done

awk -v rounds="$rounds" '
function field(line, key,    n, parts, i, kv) {
    n = split(line, parts, " ")
    for (i = 1; i <= n; i++) { split(parts[i], kv, "="); if (kv[1] == key) return kv[2] }
    return ""
}
{
    key = field($0, "transport") SUBSEP field($0, "peer")
    p50 = field($0, "p50_us") + 0; p99 = field($0, "p99_us") + 0
    if (!(key in b50) || p50 < b50[key]) b50[key] = p50
    if (!(key in b99) || p99 < b99[key]) b99[key] = p99
}
END {
    printf "\nSmall-request latency through lomad: best of %d alternating rounds (microseconds)\n\n", rounds
    printf "| transport | measure | plain C libzmq echo | lomad health | lomad/C |\n|---|---|---:|---:|---:|\n"
    split("ipc tcp", ts, " ")
    for (t = 1; t <= 2; t++) {
        c = ts[t] SUBSEP "c"; l = ts[t] SUBSEP "lomad"
        printf "| %s | p50 | %.1f | %.1f | %.2f |\n", ts[t], b50[c], b50[l], b50[l] / b50[c]
        printf "| %s | p99 | %.1f | %.1f | %.2f |\n", ts[t], b99[c], b99[l], b99[l] / b99[c]
    }
}' "$results"
