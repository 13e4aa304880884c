#!/usr/bin/env bash
# Every real-GPU scenario in one call: builds ctxguard and the test plugins with nvcc, runs each
# scenario bare and under ctxguard, checks results (not just exit codes), prints a table last.
#   scripts/gpu-test.sh              on a machine with a GPU and nvcc (the device tool's machine)
#   scripts/gpu-test.sh --fake       the same table on the fake CUDA libraries (no GPU needed)
#   scripts/gpu-test.sh --self-check --fake run, exit status only (part of `make check`)
#   GPU_TEST_ONLY=REGEX runs only the rows whose names match (say two-gpu on a machine lent briefly)
# Logs and the table also go to $OUT (when set) for the device tool to bring back.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
MODE=gpu; QUIET=0
for a in "$@"; do
    case $a in
        --fake) MODE=fake ;;
        --self-check) MODE=fake; QUIET=1 ;;
        *) echo "usage: $0 [--fake|--self-check]" >&2; exit 2 ;;
    esac
done
OUTDIR=${OUT:-$ROOT/build/gpu-test}
mkdir -p "$OUTDIR" build
LOGDIR=$(mktemp -d /tmp/ctxguard-gpu-test.XXXXXX)
SHIM=$ROOT/build/libctxguard.so
say() { [ "$QUIET" = 1 ] || echo "$@"; }

if [ "$MODE" = gpu ]; then
    export PATH=$PATH:/usr/local/cuda/bin
    export LD_LIBRARY_PATH=/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    command -v nvcc >/dev/null || { echo "gpu-test: no nvcc; use --fake" >&2; exit 2; }
    scripts/build-gpu.sh || exit 2
    make -s build/progs/mt_host build/fake/libfake_nvtx.so >/dev/null || exit 2
    G=$ROOT/build/gpu
    P=$G; HOST=$ROOT/build/progs/plugin_host; CUDA_HOST=$G/cuda_host
    ENVLINE="driver $(nvidia-smi --query-gpu=driver_version,name --format=csv,noheader 2>/dev/null | head -1); $(nvcc --version | tail -1); glibc $(ldd --version | head -1 | awk '{print $NF}'); torch $(python3 -c 'import torch;print(torch.__version__)' 2>/dev/null)"
else
    make -s all test-progs >/dev/null || exit 2
    P=$ROOT/build/plugins; HOST=$ROOT/build/progs/plugin_host; CUDA_HOST=$ROOT/build/progs/cuda_host
fi

ROWS=(); FAILS=0
# row NAME WANT_BARE WANT_GUARD WANT_LOG [ENV=..] -- CMD...
#   WANT_BARE / WANT_GUARD: expected exit status of the plugin host (0 data intact, 1 data lost)
#   WANT_LOG: a regular expression the one-line log summary must match
want() { [ -z "${GPU_TEST_ONLY:-}" ] || [[ $1 =~ $GPU_TEST_ONLY ]]; }
row() {
    local name=$1 wb=$2 wg=$3 wl=$4; shift 4
    want "$name" || return 0
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done; shift
    local log=$LOGDIR/$name.jsonl
    env "${envs[@]}" "$@" >"$LOGDIR/$name.bare.out" 2>&1; local sb=$?
    env "${envs[@]}" CTXGUARD_LOG_FORMAT=json CTXGUARD_LOG="$log" LD_PRELOAD="$SHIM" "$@" \
        >"$LOGDIR/$name.guard.out" 2>&1; local sg=$?
    local sum; sum=$(python3 scripts/logsum.py "$log")
    local ok=pass
    [ "$sb" = "$wb" ] && [ "$sg" = "$wg" ] && [[ "$sum" =~ $wl ]] || { ok=FAIL; FAILS=$((FAILS+1)); }
    ROWS+=("$(printf '%-22s | %-12s | %-12s | %s | %s' "$name" "$(outcome $sb)" "$(outcome $sg)" "$ok" "$sum")")
    if [ $ok = FAIL ] && [ "$QUIET" = 0 ]; then
        echo "--- $name: bare=$sb (want $wb) guard=$sg (want $wg)"; cat "$LOGDIR/$name.bare.out" "$LOGDIR/$name.guard.out"
    fi
}
outcome() { case $1 in 0) echo "intact";; 1) echo "data lost";; 139) echo "SIGSEGV";; *) echo "status $1";; esac; }

row shared-cudart 1 0 'block cudaDeviceReset by libplugB.so .*shared_with libplugA.so' -- \
    "$HOST" "$P/libplugA.so:setup" "$P/libplugB.so:reset" "$P/libplugA.so:check"
row static-cudart 1 0 'block cuDevicePrimaryCtxReset.* by libplugS2.so .*shared_with libplugS1.so' -- \
    "$HOST" "$P/libplugS1.so:setup" "$P/libplugS2.so:reset" "$P/libplugS1.so:check"
row mixed-static-user 1 0 'block cudaDeviceReset by libplugB.so .*libplugS1.so' -- \
    "$HOST" "$P/libplugS1.so:setup" "$P/libplugB.so:reset" "$P/libplugS1.so:check"
row mixed-static-reset 1 0 'block cuDevicePrimaryCtxReset.* by libplugS1.so .*libplugA.so' -- \
    "$HOST" "$P/libplugA.so:setup" "$P/libplugS1.so:reset" "$P/libplugA.so:check"
row own-context 0 0 'allow cudaDeviceReset by libplugB.so \(created' -- \
    "$HOST" "$P/libplugA.so:setup" "$P/libplugB.so:ctxreset" "$P/libplugA.so:check"
row host-only-reset 1 1 'allow cudaDeviceReset by cuda_host \(primary; shared_with -\)' -- \
    "$CUDA_HOST" self:setup self:reset self:check
row enforce-host-only 1 0 'block cudaDeviceReset by cuda_host' CTXGUARD_MODE=enforce -- \
    "$CUDA_HOST" self:setup self:reset self:check
row tf-style-dlsym 1 0 'block cudaDeviceReset by libplugC.so .*libplugA.so' -- \
    "$HOST" "$P/libplugA.so:setup" "$P/libplugC.so:dlsymreset" "$P/libplugA.so:check"
row driver-entry-point 1 0 'block cuDevicePrimaryCtxReset_v2 by libplugB.so' -- \
    "$HOST" "$P/libplugA.so:setup" "$P/libplugB.so:drvreset" "$P/libplugA.so:check"
row threads-8-one-resets 1 0 'block cudaDeviceReset by libplugB.so .*libplugA.so' -- \
    "$ROOT/build/progs/mt_host" "$P/libplugA.so" "$P/libplugB.so" 8
# A deny rule (with enforce as the preset): B's reset and its driver-level reset both return 800
# (cudaErrorNotPermitted) to B; the host counts a failed non-check step (status 2), A stays intact.
row deny-rule 1 2 'deny cudaDeviceReset by libplugB.so .*result 800.*deny cuDevicePrimaryCtxReset_v2 by libplugB.so .*result 800' \
    CTXGUARD_MODE=enforce 'CTXGUARD_RULES=deny @reset from libplugB.so' -- \
    "$HOST" "$P/libplugA.so:setup" "$P/libplugB.so:reset" "$P/libplugB.so:drvreset" "$P/libplugA.so:check"
# A policy that allows the host and blocks one plugin (enforce as the preset, so the host's own reset
# is allowed only by its rule): B's reset blocked, the host's data intact, then the host's reset allowed.
row policy-host-vs-plugin 1 0 'block cudaDeviceReset by libplugB.so .*; allow cudaDeviceReset by cuda_host' \
    CTXGUARD_MODE=enforce 'CTXGUARD_RULES=allow @reset from cuda_host; block @reset from libplugB.so' -- \
    "$CUDA_HOST" self:setup "$P/libplugB.so:reset" self:check self:reset
row observe-mode 1 1 'allow cudaDeviceReset by libplugB.so .*libplugA.so' CTXGUARD_MODE=observe -- \
    "$HOST" "$P/libplugA.so:setup" "$P/libplugB.so:reset" "$P/libplugA.so:check"
# Post-mortem (issue 7), observe mode: the reset happens and the victim's failure is explained. Shared
# runtime: A's failing cudaMemcpy names B's reset. Static runtimes: S1's own calls never leave the plugin,
# but its runtime re-attaching to the primary context after S2's reset is seen and explained.
row attribution-shared 1 1 'attribution: libplugA.so cuDevicePrimaryCtxRetain .*<- reset by libplugB.so; attribution: libplugA.so cudaMemcpy \(result 1\) <- reset by libplugB.so' \
    CTXGUARD_MODE=observe -- "$HOST" "$P/libplugA.so:setup" "$P/libplugB.so:reset" "$P/libplugA.so:check"
row attribution-static 1 1 'attribution: libplugS1.so cuDevicePrimaryCtxRetain .*<- reset by libplugS2.so' \
    CTXGUARD_MODE=observe -- "$HOST" "$P/libplugS1.so:setup" "$P/libplugS2.so:reset" "$P/libplugS1.so:check"
# A module that leaves its own context current (cuCtxCreate, no pop): A's next call is reported as running
# on B's context; A's check (which selects its device again, making the primary current) is intact.
row context-left 0 0 'allow cudaDeviceSynchronize by libplugA.so \(created; shared_with libplugB.so\)' -- \
    "$HOST" "$P/libplugA.so:setup" "$P/libplugB.so:ctxleave" "$P/libplugA.so:sync" "$P/libplugA.so:check"
# Issue 14, item 1: Python using the runtime through ctypes (libffi makes each call) beside a plugin that
# resets. Python is a user of the primary context: B's reset is blocked and Python's data kept. The
# runtime Python loads is the one B uses (its soname on the GPU machine, the fake's path here).
if [ "$MODE" = gpu ]; then
    RT=$(readelf -dW "$P/libplugB.so" 2>/dev/null | sed -n 's/.*Shared library: \[\(libcudart[^]]*\)\].*/\1/p' | head -1)
    RT=${RT:-libcudart.so.13}
else
    RT=$ROOT/build/fake/libcudart.so.13
fi
row ctypes-user 1 0 'block cudaDeviceReset by libplugB.so \(primary; shared_with .*_ctypes' PYTHONMALLOC=malloc -- \
    python3 tests/progs/ctypes_user.py "$RT" "$P/libplugB.so"
# Issue 14, item 2: the host started through the dynamic loader (ld.so ./cuda_host …): /proc/self/exe is the
# loader, the host is still the host (a user of its own context, named as itself).
LDSO=$(readelf -lW "$CUDA_HOST" 2>/dev/null | sed -n 's/.*Requesting program interpreter: \(.*\)\]/\1/p')
LDSO=${LDSO:-/lib64/ld-linux-x86-64.so.2}
row loader-started-host 1 0 'block cudaDeviceReset by libplugB.so \(primary; shared_with cuda_host\)' -- \
    "$LDSO" "$CUDA_HOST" self:setup "$P/libplugB.so:reset" self:check
# A crash after a blocked reset, with CTXGUARD_DUMP: the dump holds the block, the host still dies of
# its own SIGSEGV (status 139 from env), bare and guarded alike.
DUMPF=$LOGDIR/crash.dump
row crash-dump 139 139 'block cudaDeviceReset by libplugB.so' CTXGUARD_DUMP="$DUMPF" -- \
    "$HOST" "$P/libplugA.so:setup" "$P/libplugB.so:reset" "$P/libplugA.so:crash"
if ! want crash-dump-file; then :
elif ! grep -q 'SIGSEGV' "$DUMPF" 2>/dev/null || ! grep -q 'cudaDeviceReset.*libplugB.so' "$DUMPF"; then
    FAILS=$((FAILS+1)); ROWS+=("$(printf '%-22s | %-12s | %-12s | %s | %s' crash-dump-file - - FAIL "dump missing or incomplete")")
    [ "$QUIET" = 1 ] || cat "$DUMPF"
else
    ROWS+=("$(printf '%-22s | %-12s | %-12s | %s | %s' crash-dump-file - - pass "$(grep -c . "$DUMPF") lines; $(grep -m1 -o 'fatal signal SIGSEGV' "$DUMPF")")")
fi
# NVTX (issue 7): with CTXGUARD_NVTX=1 a blocked reset is also a mark in the "ctxguard" domain. On the GPU
# machine the marks are recorded by Nsight Systems (nsys) and read back from its export; on the fakes
# the stand-in NVTX library records them.
nvtx_row() {
    local marks out=$LOGDIR/nvtx
    if [ "$MODE" = fake ]; then
        CTXGUARD_NVTX=1 CTXGUARD_NVTX_LIB="$ROOT/build/fake/libfake_nvtx.so" FAKE_NVTX_OUT=$out.txt LD_PRELOAD="$SHIM" \
            "$HOST" "$P/libplugA.so:setup" "$P/libplugB.so:reset" "$P/libplugA.so:check" >$out.log 2>&1
        marks=$(sed -n 's/^mark [0-9A-F]* //p' $out.txt 2>/dev/null)
    else
        local nsys
        nsys=$(command -v nsys || ls /opt/nvidia/nsight-systems/*/bin/nsys /usr/local/cuda/bin/nsys \
               /opt/nvidia/nsight-compute/*/host/target-linux-x64/nsys 2>/dev/null | head -1)
        if [ -z "$nsys" ]; then
            ROWS+=("$(printf '%-22s | %-12s | %-12s | %s | %s' nvtx-marks - - skipped "no nsys on this machine")"); return
        fi
        # ctxguard is added to the LD_PRELOAD nsys gives the program, not put in its place
        "$nsys" profile -t nvtx,cuda -o $out --force-overwrite true \
            sh -c 'CTXGUARD_NVTX=1 LD_PRELOAD="$0${LD_PRELOAD:+:$LD_PRELOAD}" exec "$@"' "$SHIM" \
            "$HOST" "$P/libplugA.so:setup" "$P/libplugB.so:reset" "$P/libplugA.so:check" >$out.log 2>&1
        if [ ! -f $out.nsys-rep ] && [ -f $out.qdstrm ]; then
            # an nsys without its importer (as bundled with Nsight Compute) leaves the raw stream only
            local imp; imp=$(ls "$(dirname "$nsys")"/QdstrmImporter /opt/nvidia/*/host*/*/QdstrmImporter \
                              /opt/nvidia/*/*/host*/*/QdstrmImporter 2>/dev/null | head -1)
            [ -n "$imp" ] && { echo "importer: $imp" >>$out.log; "$imp" -i $out.qdstrm >>$out.log 2>&1; }
        fi
        if [ -f $out.nsys-rep ]; then
            "$nsys" export --type sqlite --force-overwrite true -o $out.sqlite $out.nsys-rep >>$out.log 2>&1
            marks=$(python3 -c 'import sqlite3,sys
db=sqlite3.connect(sys.argv[1])
for (t,) in db.execute("select coalesce(e.text, s.value) from NVTX_EVENTS e left join StringIds s on e.textId = s.id"):
    if t and t.startswith("ctxguard:"): print(t)' $out.sqlite 2>>$out.log)
        elif [ -f $out.qdstrm ]; then
            # no report can be built here: look for the mark's text in nsys's raw stream itself
            marks=$(grep -a -o 'ctxguard: block cudaDeviceReset by libplugB.so[^]]*]' $out.qdstrm | head -1)
            [ -n "$marks" ] && marks="$marks (found in nsys's raw capture; no importer here)"
        fi
    fi
    if [ "$MODE" = gpu ] && [ -z "$marks" ] && [ ! -f $out.nsys-rep ]; then
        # No report could be built here (the nsys on the H100 machine is Nsight Compute's, whose
        # importer lacks libdw.so.1). Checked instead, on this GPU: the real NVTX library loads and
        # takes the marks without complaint, and the marks' text, through the stand-in library.
        CTXGUARD_NVTX=1 LD_PRELOAD="$SHIM" "$HOST" "$P/libplugA.so:setup" "$P/libplugB.so:reset" \
            "$P/libplugA.so:check" >$out.real.log 2>&1; local real=$?
        CTXGUARD_NVTX=1 CTXGUARD_NVTX_LIB="$ROOT/build/fake/libfake_nvtx.so" FAKE_NVTX_OUT=$out.txt LD_PRELOAD="$SHIM" \
            "$HOST" "$P/libplugA.so:setup" "$P/libplugB.so:reset" "$P/libplugA.so:check" >>$out.log 2>&1
        marks=$(sed -n 's/^mark [0-9A-F]* //p' $out.txt 2>/dev/null)
        if [ $real != 0 ] || grep -q 'NVTX' $out.real.log; then marks=""; cat $out.real.log >>$out.log; fi
        [ -n "$marks" ] && marks="$marks (stand-in NVTX library; the real libnvtx3interop took the same marks quietly; no nsys report possible here)"
    fi
    if [[ "$marks" =~ ctxguard:\ block\ cudaDeviceReset\ by\ libplugB.so.*shared\ with\ libplugA.so ]]; then
        ROWS+=("$(printf '%-22s | %-12s | %-12s | %s | %s' nvtx-marks - intact pass "$(printf '%s' "$marks" | head -1)")")
    else
        FAILS=$((FAILS+1)); ROWS+=("$(printf '%-22s | %-12s | %-12s | %s | %s' nvtx-marks - - FAIL "no ctxguard mark recorded")")
        [ "$QUIET" = 1 ] || tail -20 $out.log
    fi
}
want nvtx-marks && nvtx_row
# RTLD_DEEPBIND: the plugin and its libcudart look symbols up in their own scope before the preload,
# so ctxguard is bypassed (a known limit): the row passes when the bypass is reported by name.
row deepbind-plugin 1 1 'allow dlopen\(RTLD_DEEPBIND\) by plugin_host' PLUGIN_HOST_DEEPBIND=1 -- \
    "$HOST" "$P/libplugA.so:setup" "$P/libplugB.so:reset" "$P/libplugA.so:check"

# Two devices (issue 8): per-device judgement. On the fakes FAKE_CUDA_DEVICES=2 presents two.
NGPU=2
[ "$MODE" = gpu ] && NGPU=$(nvidia-smi -L 2>/dev/null | grep -c '^GPU')
if ! want two-gpu; then :
elif [ "$NGPU" -ge 2 ]; then
    row two-gpu-reset-other 1 0 'allow cudaDeviceReset by libplugB.so \(primary; shared_with -\); block cudaDeviceReset by libplugB.so \(primary; shared_with libplugA.so\)' FAKE_CUDA_DEVICES=2 -- \
        "$HOST" "$P/libplugA.so:setup" "$P/libplugB.so:setup1" "$P/libplugB.so:reset1" "$P/libplugB.so:reset0" "$P/libplugA.so:check"
    row two-gpu-users-named 1 0 'block cudaDeviceReset by libplugB.so \(primary; shared_with libplugC.so\)$' FAKE_CUDA_DEVICES=2 -- \
        "$HOST" "$P/libplugA.so:setup" "$P/libplugC.so:setup1" "$P/libplugB.so:reset1" "$P/libplugA.so:check" "$P/libplugC.so:check"
    # two threads on two devices, one resetting its own: only that device's user is named
    row two-gpu-two-threads 1 0 'block cudaDeviceReset by libplugB.so \(primary; shared_with libplugC.so\)$' FAKE_CUDA_DEVICES=2 -- \
        "$ROOT/build/progs/mt_host" --two-devices "$P/libplugA.so" "$P/libplugB.so" "$P/libplugC.so"
    # B moves the thread to device 1 and returns: A's next call runs there, and is reported (once)
    row two-gpu-switch-left 0 0 '^device-switch: libplugA.so cudaDeviceSynchronize on device 1 <- moved by libplugB.so$' FAKE_CUDA_DEVICES=2 -- \
        "$HOST" "$P/libplugA.so:setup" "$P/libplugB.so:switch1" "$P/libplugA.so:sync" "$P/libplugA.so:sync"
else
    ROWS+=("$(printf '%-22s | %-12s | %-12s | %s | %s' two-gpu-scenarios - - skipped "only $NGPU GPU(s) here: need 2")")
fi

if [ "$MODE" = gpu ] && want torch; then
    # PyTorch: a tensor on the GPU, then cudaDeviceReset through ctypes on torch's own libcudart.
    # PyTorch and CuPy workloads: the same bits bare, under observe and under guard; nothing blocked.
    wl() { env "$@" python3 tests/gpu/workloads.py 2>&1 | grep -E '^(torch|cupy)\.'; }
    wb=$(wl X=1); wo=$(wl CTXGUARD_MODE=observe LD_PRELOAD="$SHIM"); wg=$(wl CTXGUARD_LOG_FORMAT=json \
        CTXGUARD_LOG="$LOGDIR/workloads.jsonl" LD_PRELOAD="$SHIM")
    wsum=$(python3 scripts/logsum.py "$LOGDIR/workloads.jsonl")
    n=$(printf '%s\n' "$wb" | grep -c .)
    if [ "$n" = 5 ] && [ "$wb" = "$wo" ] && [ "$wb" = "$wg" ] && { [ "$wsum" = "(nothing logged)" ] || [ "$wsum" = "(no log)" ]; }; then ok=pass; else ok=FAIL; FAILS=$((FAILS+1)); fi
    # no file at all is right here: the sink opens on the first line, and nothing was notable
    ROWS+=("$(printf '%-22s | %-12s | %-12s | %s | %s' torch-cupy-workloads "$n hashes" "same bits" "$ok" "${wsum/(no log)/(nothing logged)}")")
    [ $ok = FAIL ] && printf 'bare:\n%s\nobserve:\n%s\nguard:\n%s\n' "$wb" "$wo" "$wg"
    row pytorch-ctypes 1 0 'block cudaDeviceReset by .*(ctypes|ffi).*shared_with .*(c10_cuda|torch)' -- \
        python3 tests/gpu/torch_reset.py
fi

{
    echo
    echo "ctxguard GPU scenarios ($MODE, $(date -u +%Y-%m-%dT%H:%MZ)) ${ENVLINE:-}"
    printf '%-22s | %-12s | %-12s | %s | %s\n' scenario bare guarded ok "what ctxguard logged (guarded run)"
    for r in "${ROWS[@]}"; do echo "$r"; done
    echo "failures: $FAILS"
} | tee "$OUTDIR/table.txt" | { [ "$QUIET" = 1 ] && cat >/dev/null || cat; }
tar -C "$LOGDIR" --exclude='*.qdstrm' --exclude='*.nsys-rep' --exclude='*.sqlite' -czf "$OUTDIR/logs.tgz" . 2>/dev/null
rm -rf "$LOGDIR"
[ "$FAILS" = 0 ]
