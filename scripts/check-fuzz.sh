#!/usr/bin/env bash
# make check-fuzz: each libFuzzer target for SECONDS (its corpus kept in BUILD_DIR/fuzz/corpus-NAME),
# then the randomized plugin-host sequences (tests/test_random.c) in two shards side by side, each
# stopped after 2 x SECONDS if it has not finished (it says how many seeds ran).
# usage: scripts/check-fuzz.sh BUILD_DIR SECONDS RANDOM_SEEDS FUZZER...
set -u
cd "$(dirname "$0")/.."
B=$1 SECS=$2 SEEDS=$3; shift 3
for f in "$@"; do
    echo "== $f ($SECS s)"
    mkdir -p "$B/fuzz/corpus-$(basename "$f")"
    "$f" -max_total_time="$SECS" -max_len=4096 -print_final_stats=1 "$B/fuzz/corpus-$(basename "$f")" > "$B/fuzz/last.log" 2>&1
    rc=$?
    grep -E "stat::number_of_executed_units|ERROR|SUMMARY" "$B/fuzz/last.log"
    [ $rc = 0 ] || { tail -40 "$B/fuzz/last.log"; exit 1; }
done
half=$((SEEDS / 2)); secs=$((2 * SECS))
RANDOM_SEEDS=$half RANDOM_FIRST_SEED=1 RANDOM_SECONDS=$secs "$B/tests/test_random" > "$B/random-1.log" 2>&1 & p1=$!
RANDOM_SEEDS=$((SEEDS - half)) RANDOM_FIRST_SEED=$((half + 1)) RANDOM_SECONDS=$secs "$B/tests/test_random" > "$B/random-2.log" 2>&1
r2=$?; wait $p1; r1=$?
echo "== $B/tests/test_random ($SEEDS seeds, two shards, at most $secs s each)"
grep -h "random sequences:" "$B/random-1.log" "$B/random-2.log"
[ $r1 = 0 ] && [ $r2 = 0 ] || { tail -60 "$B/random-1.log" "$B/random-2.log"; exit 1; }
