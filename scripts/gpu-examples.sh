#!/usr/bin/env bash
# Real-GPU examples for docs/troubleshooting.md and ctxguard(1): one plugin-host scenario (A holds
# data, B resets, A checks) guarded (text and JSON lines), as a dry run (observe) with a deny rule,
# the report's timeline and JSON, and the exit code for CI gates. Output under $OUT (or build/).
set -u
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/cuda/bin LD_LIBRARY_PATH=/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
scripts/build-gpu.sh >/dev/null || exit 2
O=${OUT:-build/examples}; mkdir -p "$O"
G=build/gpu; H=build/progs/plugin_host; L=$PWD/build/libctxguard.so
S=("$PWD/$G/libplugA.so:setup" "$PWD/$G/libplugB.so:reset" "$PWD/$G/libplugA.so:check")
{
echo "### guard, text"; CTXGUARD_SUMMARY=1 LD_PRELOAD=$L $H "${S[@]}" 2>&1
echo "### guard, JSON"; CTXGUARD_LOG_FORMAT=json CTXGUARD_LOG=$O/guard.jsonl LD_PRELOAD=$L $H "${S[@]}" 2>&1; cat $O/guard.jsonl
echo "### observe (dry run) with a deny rule"; CTXGUARD_MODE=observe CTXGUARD_RULES='deny @reset from libplugB.so' \
    CTXGUARD_LOG_FORMAT=json CTXGUARD_LOG=$O/observe.jsonl LD_PRELOAD=$L $H "${S[@]}" 2>&1; cat $O/observe.jsonl
echo "### ctxguard report --timeline"; build/ctxguard report --timeline $O/observe.jsonl
echo "### ctxguard report --json"; build/ctxguard report --json $O/guard.jsonl $O/observe.jsonl
echo "### exit code for CI gates"; build/ctxguard run --error-exitcode 3 -- $H "${S[@]}" >/dev/null 2>&1; echo "exit status: $?"
} > $O/examples.txt 2>&1
cat $O/examples.txt
