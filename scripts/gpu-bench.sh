#!/usr/bin/env bash
# GPU benchmarks in one device call: per-call cost of intercepted runtime/driver calls on the real
# runtime, a launch-heavy loop and a PyTorch training step, each bare / no-op twin / ctxguard,
# interleaved and repeated. Prints tables; writes them to $OUT/bench.txt when OUT is set.
#   REPS=n repeats; PAIRED_REPS=n processes per variant (31) and PAIRED_K=n calls per block (2000)
#   of the paired table;
#   ONLY_WORKLOADS=1 skips the per-call tables, WORKLOADS=0 the workloads;
#   SECTIONS=calls,paired,threads,reset,onetime picks per-call tables (scripts/bench.py --sections).
#   EXTRA="NAME=LIB ..." adds other preloads (an earlier build, say) to the paired table.
set -u
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/cuda/bin
export LD_LIBRARY_PATH=/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
REPS=${REPS:-7}
make -s all build/bench/libjmpfwd.so >/dev/null || exit 2
G=build/gpu; mkdir -p $G
gcc -O2 -I/usr/local/cuda/include -o $G/bench_calls tests/bench/bench_calls.c -L/usr/local/cuda/lib64 -lcudart -lcuda -lpthread || exit 2
nvcc -O2 -arch=sm_90 -cudart shared -o $G/launch_loop tests/gpu/launch_loop.cu || exit 2
extra=(); for e in ${EXTRA:-}; do extra+=(--extra "$e"); done
OUTF=${OUT:-build}/bench.txt
{
echo "ctxguard GPU benchmarks, $(date -u +%Y-%m-%dT%H:%MZ), $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader | head -1)"
[ "${ONLY_WORKLOADS:-0}" = 1 ] || python3 scripts/bench.py --bin $G/bench_calls --no-callgrind --reps "$REPS" --calls 1000000 --paired-k "${PAIRED_K:-2000}" --paired-reps "${PAIRED_REPS:-31}" --pin 5 ${SECTIONS:+--sections "$SECTIONS"} "${extra[@]}"
[ "${WORKLOADS:-1}" = 0 ] && exit 0
echo
echo "Launch-heavy loop (200000 tiny kernels) and PyTorch training step: median [min..max] of $REPS interleaved runs"
python3 - "$REPS" <<'PY'
import os, statistics, subprocess, sys
reps = int(sys.argv[1])
root = os.getcwd()
pre = {"bare": "", "noop": f"{root}/build/libctxguard-noop.so", "ctxguard": f"{root}/build/libctxguard.so"}
jobs = {"launch us/launch": ["taskset", "-c", "5", "build/gpu/launch_loop", "200000"],
        "torch step ms": ["taskset", "-c", "5-6", "python3", "tests/gpu/torch_step.py"]}
for name, cmd in jobs.items():
    res = {k: [] for k in pre}
    for _ in range(reps):
        for k, p in pre.items():
            env = {k2: v for k2, v in os.environ.items() if not k2.startswith("CTXGUARD_") and k2 != "LD_PRELOAD"}
            if p: env["LD_PRELOAD"] = p
            r = subprocess.run(cmd, env=env, capture_output=True, text=True)
            if r.returncode: sys.exit(f"{name} failed under {k}: {r.stderr[-300:]}")
            res[k].append(float(r.stdout.strip().splitlines()[-1]))
    f = lambda xs: f"{statistics.median(xs):.4f} [{min(xs):.4f}..{max(xs):.4f}]"
    mb = statistics.median(res["bare"])
    print(f"{name:18} bare {f(res['bare'])}  twin {f(res['noop'])}  ctxguard {f(res['ctxguard'])}  "
          f"ratio ctxguard/bare {statistics.median(res['ctxguard'])/mb:.4f}  spread of bare {(max(res['bare'])-min(res['bare']))/mb:.4f}")
PY
} 2>&1 | tee "$OUTF"
