#!/usr/bin/env bash
# make check-memcheck: the plugin-host scenarios under valgrind memcheck, with ctxguard preloaded (any
# invalid read or write, use of uninitialised memory, bad free or fd leak into the program fails the
# check), then the cmocka suites given as arguments: the in-process ones run under valgrind
# themselves, the others run every program they start under valgrind (CTXGUARD_TEST_MEMCHECK, see
# tests/harness.c; an error fails that test).
# usage: scripts/check-memcheck.sh [TEST_BIN...]
set -u
cd "$(dirname "$0")/.."
B=$PWD/build; P=$B/plugins; H=$B/progs/plugin_host
VG=(valgrind -q --error-exitcode=99 --leak-check=no --suppressions=tests/valgrind.supp)
fail=0
run() {
    local name=$1; shift
    out=$(env "$@" 2>&1); rc=$?
    if [ $rc = 99 ] || grep -q '^==[0-9]*==' <<<"$out"; then
        echo "memcheck: $name: errors"; echo "$out" | grep '^==' | head -30; fail=1
    else
        echo "memcheck: $name: clean (exit $rc)"
    fi
}
run guard-shared LD_PRELOAD=$B/libctxguard.so "${VG[@]}" $H $P/libplugA.so:setup $P/libplugB.so:reset $P/libplugA.so:check
run guard-static LD_PRELOAD=$B/libctxguard.so "${VG[@]}" $H $P/libplugS1.so:setup $P/libplugS2.so:reset $P/libplugS1.so:check
run created-ctx LD_PRELOAD=$B/libctxguard.so "${VG[@]}" $H $P/libplugA.so:setup $P/libplugB.so:ctxreset $P/libplugB.so:drvreset
run json-debug LD_PRELOAD=$B/libctxguard.so CTXGUARD_LOG_FORMAT=json CTXGUARD_LOG_LEVEL=debug "${VG[@]}" $H $P/libplugA.so:setup $P/libplugC.so:dlsymreset $P/libplugA.so:check
run rules LD_PRELOAD=$B/libctxguard.so "CTXGUARD_RULES=allow log cudaSetDevice from libplugA.so; deny @reset from libplugB.so" "${VG[@]}" $H $P/libplugA.so:setup $P/libplugB.so:reset
run threads LD_PRELOAD=$B/libctxguard.so "${VG[@]}" $B/progs/mt_host $P/libplugA.so $P/libplugB.so 8
run cli-report "${VG[@]}" $B/ctxguard inspect $P/libplugA.so $P/libplugS1.so
supp=$PWD/tests/valgrind.supp
for t in "$@"; do
    echo "== memcheck: $t"
    case $t in
        */test_config|*/test_format|*/test_rules|*/test_policy|*/test_resources|*/test_exports|*/test_package)
            valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --suppressions="$supp" "$t" || fail=1 ;;
        *) CTXGUARD_TEST_MEMCHECK=$supp "$t" || fail=1 ;;
    esac
done
if [ $fail = 0 ]; then echo "check-memcheck: all suites clean"; else echo "check-memcheck: FAILED"; fi
exit $fail
