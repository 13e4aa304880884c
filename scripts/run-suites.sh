#!/usr/bin/env bash
# make check's body: every cmocka suite, the GPU script's table on the fakes, the layering checks and
# the instruction budget (callgrind). Any failure fails the whole; every part still runs.
# usage: scripts/run-suites.sh BUILD_DIR PAIR_BUDGET SAN TEST_BIN... -- SHIM_OBJ...
set -u
cd "$(dirname "$0")/.."
B=$1 PAIR_BUDGET=$2 SAN=$3; shift 3
bins=(); while [ $# -gt 0 ] && [ "$1" != -- ]; do bins+=("$1"); shift; done; shift
objs=("$@")
fail=0
for t in "${bins[@]}"; do echo "== $t"; "$t" || fail=1; done
bash scripts/gpu-test.sh --self-check || fail=1
echo "== layers (scripts/layer-check.py)"
python3 scripts/layer-check.py "$B/obj" "${objs[@]}" || fail=1
B=$B bash tests/layers/upward_call_refused.sh >/dev/null || { echo "layer-check let an upward call through"; fail=1; }
echo "== instruction budget (callgrind, 40 per pass-through call, $PAIR_BUDGET per tracked allocate+free pair)"
if [ -z "$SAN" ]; then python3 scripts/bench.py --callgrind-only --budget 40 --pair-budget "$PAIR_BUDGET" || fail=1; fi
if [ $fail = 0 ]; then echo "make check: all suites passed"; else echo "make check: FAILED"; fi
exit $fail
