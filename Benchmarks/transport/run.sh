#!/usr/bin/env bash
# Transport benchmark: the Swift ZeroMQ module beside plain C libzmq and memcpy, all measured in
# this one run (machines here are shared and noisy; only the ratios mean something).
#
# Each implementation runs the same exchange in one process: a ROUTER echo thread and a DEALER
# client sending zero-copy frames, over ipc and tcp loopback. C and Swift alternate for ROUNDS
# rounds; each cell keeps the best round (lowest latency, highest bandwidth), which filters out
# rounds disturbed by other work on the machine. Raw lines go to Benchmarks/.work/transport/.
#
# Environment: SMALL_BYTES (64) SMALL_TRIPS (20000) LARGE_BYTES (33554432) LARGE_TRIPS (20) ROUNDS (3)
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
work="$root/Benchmarks/.work/transport"
mkdir -p "$work"

small_bytes=${SMALL_BYTES:-64}
small_trips=${SMALL_TRIPS:-20000}
large_bytes=${LARGE_BYTES:-33554432}
large_trips=${LARGE_TRIPS:-20}
rounds=${ROUNDS:-3}

echo "building the C baseline and the Swift bench (release)..." >&2
# shellcheck disable=SC2046  # pkg-config output is meant to split into flags
cc -O2 -Wall -Wextra -o "$work/transport-c" "$here/transport_c.c" $(pkg-config --cflags --libs libzmq) -lpthread
(cd "$root" && swift build -c release --product transport-bench >&2)
bench="$(cd "$root" && swift build -c release --show-bin-path)/transport-bench"

results="$work/results.txt"
: >"$results"
"$work/transport-c" memcpy "$large_bytes" 40 >>"$results"
for round in $(seq "$rounds"); do
    for transport in ipc tcp; do
        echo "round $round/$rounds: $transport" >&2
        "$work/transport-c" "$transport" "$small_bytes" "$small_trips" "$large_bytes" "$large_trips" >>"$results"
        "$bench" local "$transport" "$small_bytes" "$small_trips" "$large_bytes" "$large_trips" >>"$results"
    done
done

awk -v small="$small_bytes" -v large="$large_bytes" -v rounds="$rounds" '
function field(line, key,    n, parts, i, kv) {
    n = split(line, parts, " ")
    for (i = 1; i <= n; i++) { split(parts[i], kv, "="); if (kv[1] == key) return kv[2] }
    return ""
}
/^impl=memcpy/ { memcpy = field($0, "gbps") + 0 }
/^impl=(c|swift) / {
    key = field($0, "impl") SUBSEP field($0, "transport")
    p50 = field($0, "small_p50_us") + 0; p99 = field($0, "small_p99_us") + 0; bw = field($0, "large_gbps") + 0
    cpu = field($0, "small_cpu_us") + 0
    if (!(key in best50) || p50 < best50[key]) best50[key] = p50
    if (!(key in best99) || p99 < best99[key]) best99[key] = p99
    if (!(key in bestbw) || bw > bestbw[key]) bestbw[key] = bw
    if (!(key in bestcpu) || cpu < bestcpu[key]) bestcpu[key] = cpu
}
END {
    printf "\nTransport benchmark: best of %d alternating rounds; Swift/C > 1 means the Swift layer is slower (goal <= 1.10)\n\n", rounds
    printf "| measure | transport | plain C libzmq | Swift ZeroMQ | Swift/C |\n"
    printf "|---|---|---:|---:|---:|\n"
    split("ipc tcp", transports, " ")
    for (t = 1; t <= 2; t++) {
        tr = transports[t]; c = "c" SUBSEP tr; s = "swift" SUBSEP tr
        printf "| %d B round trip p50 (us) | %s | %.1f | %.1f | %.2f |\n", small, tr, best50[c], best50[s], best50[s] / best50[c]
        printf "| %d B round trip p99 (us) | %s | %.1f | %.1f | %.2f |\n", small, tr, best99[c], best99[s], best99[s] / best99[c]
        printf "| %d B round trip CPU, all threads (us) | %s | %.1f | %.1f | %.2f |\n", small, tr, bestcpu[c], bestcpu[s], bestcpu[s] / bestcpu[c]
        printf "| %d MiB round trips (GB/s) | %s | %.2f | %.2f | %.2f |\n", large / 1048576, tr, bestbw[c], bestbw[s], bestbw[c] / bestbw[s]
    }
    printf "\nmemcpy of %d MiB: %.2f GB/s. 32 MiB round trips as a fraction of memcpy:", large / 1048576, memcpy
    for (t = 1; t <= 2; t++) {
        tr = transports[t]
        printf " %s C %.2f, Swift %.2f;", tr, bestbw["c" SUBSEP tr] / memcpy, bestbw["swift" SUBSEP tr] / memcpy
    }
    printf "\n(GB/s counts the payload both ways: 2 x %d bytes per round trip / its time.)\n", large
}' "$results"
