#!/usr/bin/env bash
# make check-tsan: ThreadSanitizer over the threaded scenarios, with the library and programs built in
# build-tsan (SAN=thread). A data race, a hang (the program's alarm), a death by signal, or ctxguard
# blaming the TSan runtime (a carrier) for a call fails it. fork is left out: TSan's own runtime does
# not support a multi-threaded fork.
set -u
cd "$(dirname "$0")/.."
CC=${CC:-cc}
ts=$($CC -print-file-name=libtsan.so); d=$PWD/build-tsan; fail=0
for args in "stress_host threads 64 100000 $d/plugins/libplugA.so $d/plugins/libplugB.so" \
            "stress_host jit $d/plugins/libplugA.so $d/plugins/libplugB.so" \
            "stress_host signals $d/plugins/libplugA.so $d/plugins/libplugB.so" \
            "mt_host $d/plugins/libplugA.so $d/plugins/libplugB.so 8" \
            "bench_calls allocfree 2000 64" \
            "plugin_host $d/plugins/libplugA.so:setup $d/plugins/libplugS1.so:reset $d/plugins/libplugA.so:check" \
            "CTXGUARD_RECLAIM=1 FAKE_CUDA_REUSE=1 stress_host reclaim $d/plugins/libplugA.so $d/plugins/libplugB.so"; do
    set -- $args; vars=()
    while [ $# -gt 0 ] && [ "${1#*=}" != "$1" ]; do vars+=("$1"); shift; done # leading VAR=VALUE words
    prog=$1; shift
    env ${vars[@]+"${vars[@]}"} TSAN_OPTIONS="halt_on_error=1 exitcode=66 suppressions=$PWD/tests/tsan.supp" \
        LD_PRELOAD=$ts:$d/libctxguard.so "$d/progs/$prog" "$@" > "$d/tsan.log" 2>&1; rc=$?
    if [ $rc = 66 ]; then echo "tsan: $prog: DATA RACE"; grep -A20 WARNING "$d/tsan.log" | head -40; fail=1
    elif [ $rc = 142 ]; then echo "tsan: $prog: HUNG (the program's alarm fired)"; tail -5 "$d/tsan.log"; fail=1
    elif [ $rc -ge 128 ]; then echo "tsan: $prog: died of signal $((rc - 128))"; tail -5 "$d/tsan.log"; fail=1
    elif grep -E "^ctxguard: .* (block|deny) " "$d/tsan.log" | grep -q "caller=[^ ]*libtsan"; then
        echo "tsan: $prog: ctxguard blamed the TSan runtime (a carrier) for a call"; fail=1
    else echo "tsan: $prog: clean (exit $rc)"; fi
done
exit $fail
