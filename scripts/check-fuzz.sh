#!/usr/bin/env bash
# make check-fuzz: each libFuzzer target for SECONDS (its corpus kept in BUILD_DIR/fuzz/corpus-NAME),
# then the randomized plugin-host sequences (tests/test_random.c), SEEDS of them in one shard per CPU
# side by side. CAP (seconds, optional): each shard stops after that long and says how many seeds it
# ran (CI's time budget); without it every seed runs.
# usage: scripts/check-fuzz.sh BUILD_DIR SECONDS SEEDS [CAP] [-- FUZZER...]
set -u
cd "$(dirname "$0")/.."
B=$1 SECS=$2 SEEDS=$3; shift 3
CAP=""
if [ $# -gt 0 ] && [ "$1" != "--" ]; then CAP=$1; shift; fi
[ "${1:-}" = "--" ] && shift
for f in "$@"; do
    echo "== $f ($SECS s)"
    mkdir -p "$B/fuzz/corpus-$(basename "$f")"
    "$f" -max_total_time="$SECS" -max_len=4096 -print_final_stats=1 "$B/fuzz/corpus-$(basename "$f")" > "$B/fuzz/last.log" 2>&1
    rc=$?
    grep -E "stat::number_of_executed_units|ERROR|SUMMARY" "$B/fuzz/last.log"
    [ $rc = 0 ] || { tail -40 "$B/fuzz/last.log"; exit 1; }
done
n=$(nproc 2>/dev/null || echo 2); [ "$n" -ge 2 ] || n=2
start=$(date +%s) first=1 pids=()
for k in $(seq 1 "$n"); do
    count=$(( SEEDS / n + (k <= SEEDS % n ? 1 : 0) ))
    env RANDOM_SEEDS=$count RANDOM_FIRST_SEED=$first ${CAP:+RANDOM_SECONDS=$CAP} \
        "$B/tests/test_random" > "$B/random-$k.log" 2>&1 &
    pids+=($!)
    first=$((first + count))
done
fail=0
for p in "${pids[@]}"; do wait "$p" || fail=1; done
echo "== $B/tests/test_random ($SEEDS seeds, $n shards${CAP:+, at most $CAP s each}, $(( $(date +%s) - start )) s)"
grep -h "random sequences:" "$B"/random-[0-9]*.log
[ $fail = 0 ] || { tail -n 60 "$B"/random-[0-9]*.log; exit 1; }
