#!/usr/bin/env bash
# Builds the libFuzzer targets (Fuzz/Package.swift) and runs each one for a bounded time.
#
#   Fuzz/run.sh [smoke]        CI smoke run: 20000 executions or 60 s per target (the default)
#   Fuzz/run.sh long           the documented long run: 1000000 executions per target
#   Fuzz/run.sh RUNS           RUNS executions per target (a plain number)
#   Fuzz/run.sh SECONDSs       SECONDS seconds per target (e.g. 60s)
#   Fuzz/run.sh seeds          rewrite the seed corpus Fuzz/Corpus/<target>/ from the targets' generators
#   Fuzz/run.sh build          build only
#
# Environment: FUZZ_TARGETS ("request safetensors config"), FUZZ_JOBS (parallel libFuzzer
# jobs per target, default 1), FUZZ_BUILD_PATH (default .build-fuzz), FUZZ_ARGS (extra libFuzzer
# flags), FUZZ_KEEP_CORPUS=DIR (keep the inputs a run found, per target, in DIR), FUZZ_NO_BUILD=1
# (use the binaries already built, e.g. for several runs side by side).
#
# Each target reads the committed seeds (Fuzz/Corpus/<target>/) and crash regressions
# (Fuzz/Regressions/<target>/) but writes new inputs only to a scratch corpus in a temp dir, so
# the repository never changes. Crash, leak, timeout and out-of-memory inputs go to the temp
# dir's artifacts/ folder; the script then prints them and exits 1.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
mode="${1:-smoke}"
build_path="${FUZZ_BUILD_PATH:-.build-fuzz}"
targets=(${FUZZ_TARGETS:-request safetensors config})
jobs="${FUZZ_JOBS:-1}"

build() {
    local started=$SECONDS
    # -sanitize=fuzzer,address instruments every Swift module of the build (lomad's decoders
    # included); the -Xcc/-Xcxx flags do the same for C (the kernels). lld, from the Swift toolchain, links libFuzzer next to SwiftPM's own entry point.
    # (pipefail: the pipeline fails with swift build; the filter itself never fails it.)
    if ! swift build -c debug --package-path Fuzz --build-path "$build_path" \
        -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -use-ld=lld \
        -Xcc -fsanitize=fuzzer-no-link,address -Xcxx -fsanitize=fuzzer-no-link,address \
        2>&1 | { grep -v -e "Cannot export local symbol" -e "prohibited flag(s)" || true; }; then
        echo "fuzz build failed" >&2
        exit 1
    fi
    for target in "${targets[@]}"; do
        test -x "$build_path/debug/fuzz-$target" || { echo "fuzz build produced no fuzz-$target" >&2; exit 1; }
    done
    echo "fuzz build: $((SECONDS - started)) s"
}

case "$mode" in
    # Whichever comes first: the config target manages only a few hundred executions a second.
    smoke) limit=(-runs=20000 -max_total_time=60) ;;
    long) limit=(-runs=1000000) ;;
    build) build; exit 0 ;;
    seeds)
        build
        for target in "${targets[@]}"; do
            rm -rf "Fuzz/Corpus/$target"
            LOMA_FUZZ_WRITE_SEEDS="$root/Fuzz/Corpus/$target" "$build_path/debug/fuzz-$target"
        done
        exit 0 ;;
    *s) limit=(-max_total_time="${mode%s}") ;;
    *[!0-9]* | "") echo "usage: Fuzz/run.sh [smoke|long|RUNS|SECONDSs|seeds|build]" >&2; exit 2 ;;
    *) limit=(-runs="$mode") ;;
esac

if [ -z "${FUZZ_NO_BUILD:-}" ]; then build; fi
work="$(mktemp -d "${TMPDIR:-/tmp}/lomad-fuzz.XXXXXX")"
mkdir -p "$work/artifacts"
# Swift's own crash backtracer would run under ASan and report itself; libFuzzer prints the stack.
export SWIFT_BACKTRACE=enable=no
export LSAN_OPTIONS="suppressions=$root/Fuzz/lsan-suppressions.txt:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
status=0
for target in "${targets[@]}"; do
    mkdir -p "$work/corpus/$target" "Fuzz/Regressions/$target"
    log="$work/$target.log"
    started=$SECONDS
    flags=("${limit[@]}" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
           -artifact_prefix="$work/artifacts/$target-" ${FUZZ_ARGS:-})
    if [ "$jobs" -gt 1 ]; then flags+=(-jobs="$jobs" -workers="$jobs"); fi
    # Every target, config included, runs with libFuzzer's leak detection on: lomad's TOML decoder
    # is Swift (module TOML), so the one leak lsan-suppressions.txt still names is Foundation's.
    # libFuzzer runs from the work dir so -jobs logs (fuzz-N.log) land there too.
    set +e
    (cd "$work" && "$root/$build_path/debug/fuzz-$target" "${flags[@]}" \
        "$work/corpus/$target" "$root/Fuzz/Corpus/$target" "$root/Fuzz/Regressions/$target") >"$log" 2>&1
    rc=$?
    set -e
    if [ "$jobs" -gt 1 ]; then cat "$work"/fuzz-*.log >>"$log" 2>/dev/null || true; fi
    last="$(grep -E '^#[0-9]+' "$log" | tail -1 || true)"
    execs="$(grep -E '^stat::number_of_executed_units' "$log" | awk '{s += $2} END {print s + 0}')"
    speed="$(grep -E '^stat::average_exec_per_sec' "$log" | awk '{s += $2} END {print s + 0}')"
    echo "fuzz-$target: rc=$rc, $((SECONDS - started)) s, $execs executions, $speed exec/s; last: $last"
    if [ "$rc" -ne 0 ]; then
        status=1
        grep -E "ERROR: |SUMMARY: |Fatal error|fuzz invariant|Test unit written" "$log" | head -20 || true
        echo "full log: $log"
    fi
    if [ -n "${FUZZ_KEEP_CORPUS:-}" ]; then
        mkdir -p "$FUZZ_KEEP_CORPUS/$target" && cp "$work/corpus/$target"/* "$FUZZ_KEEP_CORPUS/$target/" 2>/dev/null || true
    fi
done

if [ "$status" -ne 0 ] || [ -n "$(ls -A "$work/artifacts")" ]; then
    echo "fuzzing found problems; inputs in $work/artifacts:" >&2
    ls -l "$work/artifacts" >&2
    echo "reproduce: $build_path/debug/fuzz-TARGET FILE; keep the input in Fuzz/Regressions/TARGET/ and add a test" >&2
    exit 1
fi
rm -rf "$work"
echo "fuzzing: no crashes"
