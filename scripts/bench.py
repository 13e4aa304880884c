#!/usr/bin/env python3
"""ctxguard CPU benchmark on the fake CUDA libraries (make bench), or on the real runtime when given
--bin (scripts/gpu-bench.sh). Prints tables; --budget N makes it exit 1 when a pass-through call
adds more than N instructions, all the wrappers it crosses together (the CI check,
counted with callgrind: deterministic).

Method: callgrind counts the instructions of a run with N1 and with N2 calls of one entry point;
(I(N2) - I(N1)) / (N2 - N1) is the per-call count, bare and under the preload, and the difference
is what ctxguard adds. Wall-clock: the same binary bare, under the no-op twin (same exports, pure
forwarding) and under ctxguard, interleaved, repeated; medians, min and max."""
import argparse, os, re, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
B = os.path.join(ROOT, "build")
SHIM = os.path.join(B, "libctxguard.so")
NOOP = os.path.join(B, "libctxguard-noop.so")
JMP = os.path.join(B, "bench", "libjmpfwd.so")
SCALE = os.path.join(B, "bench", "scale")  # issue 14's scale figures (tests/bench/scale.c)
TINY = os.path.join(B, "bench", "libtiny.so")  # the smallest CUDA-using module, copied N times (tiny_mod.c)

# (call, wrapper layers crossed): cudaGetDriverEntryPoint crosses two, its own and the runtime's
# cuGetProcAddress, which ctxguard handed to the runtime.
PASS = [("getdevice", 1), ("setdevice", 1), ("sync", 1), ("drvsetcurrent", 1), ("drvcheck", 1), ("entrypoint", 2),
        ("dlsym", 1)]  # dlsym(libc, "strlen"): a lookup ctxguard only glances at
LOOKUP_EXTRA = 6
# Tracked calls (issue 15): one cudaMalloc + its cudaFree per iteration, what resource records cost.
TRACKED = [("allocfree", 2)]
FIRST_SIGHT_GROWTH = 1.25  # issue 14: a new module's first call with 1,000 modules loaded vs 10 (instructions)
PAIR_BUDGET = 100  # issue 15: added instructions per allocate+free pair (tests/tests.mk passes the same)

def env_with(preload, extra=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("CTXGUARD_") and k != "LD_PRELOAD"}
    if preload:
        e["LD_PRELOAD"] = preload
    e.update(extra or {})
    return e

def instructions(binary, call, n, preload):
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", binary, call, str(n)],
                       env=env_with(preload), capture_output=True, text=True)
    m = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode != 0 or not m:
        sys.exit(f"bench: callgrind run failed for {call}: {r.stderr[-400:]}")
    return int(m.group(1))

def first_sight_instructions(n, k=10):
    """Instructions of a new module's first call, ctxguard learning it, with n modules already loaded:
    callgrind counts first_call alone (tests/bench/scale.c); the mean of k new modules."""
    r = subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", "--toggle-collect=first_call",
                        SCALE, "modules", str(n), TINY, str(k)], env=env_with(SHIM), capture_output=True, text=True)
    m = re.search(r"Collected : (\d+)", r.stderr)
    if r.returncode != 0 or not m:
        sys.exit(f"bench: callgrind run of scale modules {n} failed: {r.stderr[-400:]}")
    return int(m.group(1)) / k

def per_call(binary, call, preload, n1=1000, n2=11000):
    return (instructions(binary, call, n2, preload) - instructions(binary, call, n1, preload)) / (n2 - n1)

PIN = []  # set in main: taskset -c CPU for single-thread timing, when available

def wall(binary, call, n, threads, preload, extra=None):
    pin = PIN if threads == 1 else []
    r = subprocess.run(pin + [binary, call, str(n), str(threads)], env=env_with(preload, extra), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench: {call} failed under {preload or 'bare'}: {r.stderr[-300:]}")
    info = dict(l.split("=", 1) for l in r.stderr.split() if "=" in l)
    return float(r.stdout.strip()), info

def block_diff(args, preload, extra=None):
    """One process of an alternating-blocks measurement (bench_calls paired / resetpair): the median
    of its blocks' differences, in ns per call."""
    r = subprocess.run(PIN + args, env=env_with(preload, extra), capture_output=True, text=True)
    m = re.search(r"diff=(-?[0-9.]+)", r.stdout)
    if r.returncode != 0 or not m:
        sys.exit(f"bench: {' '.join(args[1:3])} failed under {preload or 'bare'}: {r.stderr[-300:]}")
    return float(m.group(1))

def paired(binary, call, preload, blocks=201, k=20000):
    return block_diff([binary, "paired", call, str(blocks), str(k)], preload)

def fmt(xs):
    return f"{statistics.median(xs):8.2f} [{min(xs):.2f}..{max(xs):.2f}]"

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(B, "progs", "bench_calls"))
    ap.add_argument("--budget", type=float, default=None, help="fail if a wrapper adds more instructions")
    ap.add_argument("--pair-budget", type=float, default=PAIR_BUDGET,
                    help=f"fail if an allocate+free pair adds more instructions (tracked calls; default {PAIR_BUDGET})")
    ap.add_argument("--first-sight-growth", type=float, default=FIRST_SIGHT_GROWTH,
                    help="fail if a new module's first call costs more than this many times as much with 1,000 "
                         f"modules loaded as with 10 (instructions; default {FIRST_SIGHT_GROWTH})")
    ap.add_argument("--callgrind-only", action="store_true")
    ap.add_argument("--no-callgrind", action="store_true", help="real CUDA: skip instruction counts")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--calls", type=int, default=2_000_000)
    ap.add_argument("--sections", default="calls,paired,threads,reset,onetime,scale",
                    help="which wall-clock tables to print (comma-separated)")
    ap.add_argument("--paired-reps", type=int, default=None, help="processes per variant in the paired table (default --reps)")
    ap.add_argument("--paired-k", type=int, default=20000, help="calls per block in the paired table")
    ap.add_argument("--extra", action="append", default=[], metavar="NAME=LIB",
                    help="another preload for the paired table (say, an earlier build), interleaved with the rest")
    ap.add_argument("--pin", default=None, help="CPU to pin single-thread timing runs to (taskset)")
    a = ap.parse_args()
    failed = False
    if a.pin is not None and subprocess.run(["sh", "-c", "command -v taskset"], capture_output=True).returncode == 0:
        PIN.extend(["taskset", "-c", a.pin])

    if not a.no_callgrind:
        print("Instructions per call (callgrind, deterministic)")
        print(f"{'call':15} {'bare':>8} {'ctxguard':>9} {'added':>7} {'layers':>6} {'per layer':>9}")
    for call, layers in ([] if a.no_callgrind else PASS):
        bare, shim = per_call(a.bin, call, ""), per_call(a.bin, call, SHIM)
        added = shim - bare
        print(f"{call:15} {bare:8.1f} {shim:9.1f} {added:7.1f} {layers:6} {added / layers:9.1f}")
        # the whole call, however many wrappers it crosses. A lookup by name (entrypoint) is allowed
        # LOOKUP_EXTRA more: since issue 15 its name filter also passes cuMem*/cuStream*/cuEvent*
        # names on to the wrappers' tables (6 instructions over two layers), paid once per name.
        budget = None if a.budget is None else a.budget + (LOOKUP_EXTRA if call == "entrypoint" else 0)
        if budget is not None and added > budget:
            print(f"  OVER BUDGET: {call} adds {added:.1f} > {budget} instructions")
            failed = True
    for call, layers in ([] if a.no_callgrind else TRACKED):
        bare, shim = per_call(a.bin, call, ""), per_call(a.bin, call, SHIM)
        added = shim - bare
        print(f"{call + ' (pair)':15} {bare:8.1f} {shim:9.1f} {added:7.1f} {layers:6} {added / layers:9.1f}")
        if a.pair_budget is not None and added > a.pair_budget:
            print(f"  OVER BUDGET: an allocate+free pair adds {added:.1f} > {a.pair_budget} instructions")
            failed = True
    if not a.no_callgrind and os.path.exists(SCALE):
        first = {n: first_sight_instructions(n) for n in (10, 1000)}
        growth = first[1000] / first[10]
        print(f"{'first sight':15} instructions of a new module's first call under ctxguard: {first[10]:.0f} with 10 "
              f"modules loaded, {first[1000]:.0f} with 1,000 ({growth:.2f}x)")
        if a.first_sight_growth is not None and growth > a.first_sight_growth:
            print(f"  GROWS WITH THE MODULES LOADED: {growth:.2f}x > {a.first_sight_growth}x")
            failed = True
    if a.callgrind_only:
        return 1 if failed else 0

    sec = set(a.sections.split(","))
    if "calls" in sec:
        calls_table(a)
    if "paired" in sec:
        paired_table(a)
    if "threads" in sec:
        threads_table(a)
    if "reset" in sec:
        reset_table(a)
    if "onetime" in sec:
        onetime_table(a)
    if "scale" in sec and os.path.exists(SCALE):
        if not scale_table(a):
            failed = True
    return 1 if failed else 0

def calls_table(a):
    print()
    print(f"Wall clock, ns per call, median [min..max] of {a.reps} interleaved runs of {a.calls} calls")
    print(f"{'call':15} {'bare':>22} {'no-op twin':>22} {'ctxguard':>22} {'ctxguard-bare':>13} {'ctxguard-twin':>13}")
    for call, _ in PASS:
        res = {"bare": [], "noop": [], "shim": []}
        for _ in range(a.reps):
            for k, pre in (("bare", ""), ("noop", NOOP), ("shim", SHIM)):
                res[k].append(wall(a.bin, call, a.calls, 1, pre)[0])
        mb, mn, ms = (statistics.median(res[k]) for k in ("bare", "noop", "shim"))
        print(f"{call:15} {fmt(res['bare']):>22} {fmt(res['noop']):>22} {fmt(res['shim']):>22} {ms - mb:13.2f} {ms - mn:13.2f}")

def median_ci(xs, level=0.95):
    """Distribution-free confidence interval of the median: order statistics x(j)..x(n+1-j), j the
    largest rank with P(Binomial(n, 1/2) < j) <= (1 - level) / 2."""
    from math import comb
    xs, n = sorted(xs), len(xs)
    j, cum = 0, 0.0
    while j < n and cum + comb(n, j) / 2 ** n <= (1 - level) / 2:
        cum += comb(n, j) / 2 ** n
        j += 1
    return (xs[j - 1], xs[n - j]) if j >= 1 else (xs[0], xs[-1])

def paired_table(a):
    reps = a.paired_reps or a.reps
    print()
    print(f"In-process paired, added ns per call: in one process, blocks of {a.paired_k} calls to the function the")
    print(f"program links to (the preload's wrapper) and to the runtime's own definition alternate, from one loop;")
    print(f"per process the median of the blocks' differences. Median over {reps} processes [95% CI of the median]")
    print(f"(min..max). Bare, both targets are the same function: that column is the method's own error.")
    print(f"\"jmp only\": a preload whose wrapper is one jmp (tests/bench/jmp_forwarder.c), the least any can be.")
    extra = [tuple(e.split("=", 1)) for e in a.extra]
    jmp = [("jmp only", JMP)] if os.path.exists(JMP) else []
    variants = [("bare", "")] + jmp + [("no-op twin", NOOP), ("ctxguard", SHIM)] + extra
    print(f"{'call':12}" + "".join(f" {v:>30}" for v, _ in variants) + f" {'ctxguard-twin':>13}"
          + (f" {'ctxguard-jmp':>12}" if jmp else ""))
    for call in ("getdevice", "setdevice", "sync"):
        res = {v: [] for v, _ in variants}
        for _ in range(reps):
            for v, pre in variants:
                res[v].append(paired(a.bin, call, pre, k=a.paired_k))
        def cell(xs):
            lo, hi = median_ci(xs)
            return f"{statistics.median(xs):6.2f} [{lo:.2f},{hi:.2f}] ({min(xs):.2f}..{max(xs):.2f})"
        med = lambda v: statistics.median(res[v])
        print(f"{call:12}" + "".join(f" {cell(res[v]):>30}" for v, _ in variants)
              + f" {med('ctxguard') - med('no-op twin'):13.2f}"
              + (f" {med('ctxguard') - med('jmp only'):12.2f}" if jmp else ""))

def threads_table(a):
    print()
    print("Threads allocating and freeing at once (cudaMalloc 256 B + cudaFree per iteration; the fake driver")
    print("serialises its own allocations under one mutex, bare and guarded alike): ns per pair per thread,")
    print(f"median [min..max] of {a.reps} interleaved runs each; ratio = ctxguard / bare")
    print(f"{'threads':>7} {'bare':>24} {'ctxguard':>24} {'ratio':>7}")
    for t in (1, 8, 64):
        n = max(a.calls // (20 * t), 2000)
        b, s = [], []
        for _ in range(a.reps):
            b.append(wall(a.bin, "allocfree", n, t, "")[0])
            s.append(wall(a.bin, "allocfree", n, t, SHIM)[0])
        print(f"{t:7} {fmt(b):>24} {fmt(s):>24} {statistics.median(s) / statistics.median(b):7.3f}")
    print()
    print(f"Threads hammering cudaGetDevice: ns per call per thread (wall / calls per thread), median [min..max]")
    print(f"of {a.reps} interleaved runs each")
    print(f"{'threads':>7} {'bare':>24} {'ctxguard':>24} {'ratio':>7}")
    for t in (1, 8, 64):
        n = max(a.calls // t, 20000)
        b, s = [], []
        for _ in range(a.reps):
            b.append(wall(a.bin, "getdevice", n, t, "")[0])
            s.append(wall(a.bin, "getdevice", n, t, SHIM)[0])
        print(f"{t:7} {fmt(b):>24} {fmt(s):>24} {statistics.median(s) / statistics.median(b):7.3f}")

def reset_table(a):
    print()
    print("Guarded reset (enforce: every reset blocked): what ctxguard adds beyond the runtime's")
    print("cudaDeviceSynchronize that a blocked reset waits with, ns per call. In one process, blocks of")
    print(f"resets alternate with blocks of the runtime's own sync; median [min..max] over {a.reps} processes")
    with tempfile.TemporaryDirectory() as d:
        rows = [("decision only (LOG_LEVEL=quiet)", {"CTXGUARD_MODE": "enforce", "CTXGUARD_LOG_LEVEL": "quiet"}, 2000),
                ("logged, text to file", {"CTXGUARD_MODE": "enforce", "CTXGUARD_LOG": os.path.join(d, "t.log")}, 200),
                ("logged, JSON to file", {"CTXGUARD_MODE": "enforce", "CTXGUARD_LOG_FORMAT": "json",
                                          "CTXGUARD_LOG": os.path.join(d, "j.log")}, 200)]
        for name, extra, k in rows:
            xs = []
            for _ in range(a.reps):
                xs.append(block_diff([a.bin, "resetpair", "101", str(k)], SHIM, extra))
                for f in os.listdir(d):  # each process's log starts empty
                    os.unlink(os.path.join(d, f))
            print(f"  {name:34} {fmt(xs)}")

def onetime_table(a):
    print()
    print("One-time and memory costs, median over runs")
    fb, fs, rb, rs = [], [], [], []
    for _ in range(a.reps):
        _, ib = wall(a.bin, "getdevice", 1000, 1, "")
        _, is_ = wall(a.bin, "getdevice", 1000, 1, SHIM)
        fb.append(int(ib["first_ns"])); fs.append(int(is_["first_ns"]))
        rb.append(int(ib["rss_kb"])); rs.append(int(is_["rss_kb"]))
    print(f"  first CUDA call (one-time set-up lands here): bare {statistics.median(fb)/1000:.1f} us, "
          f"ctxguard {statistics.median(fs)/1000:.1f} us, added {(statistics.median(fs)-statistics.median(fb))/1000:.1f} us")
    print(f"  VmRSS at exit: bare {statistics.median(rb)} kB, ctxguard {statistics.median(rs)} kB, "
          f"added {statistics.median(rs)-statistics.median(rb)} kB")
    if not a.no_callgrind:  # deterministic, where the wall clock of one first call is not
        ib, is_ = instructions(a.bin, "getdevice", 1, ""), instructions(a.bin, "getdevice", 1, SHIM)
        print(f"  one-time instructions (callgrind, a whole process making one call: set-up, first call, exit): "
              f"bare {ib}, ctxguard {is_}, added {is_ - ib}")

def static_tls(lib):
    """PT_TLS MemSiz of an ELF object (readelf -lW): the static TLS every thread of the process carries."""
    r = subprocess.run(["readelf", "-lW", lib], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        f = line.split()
        if f and f[0] == "TLS":
            return int(f[5], 16)
    return 0

def scale_run(args, preload, extra=None):
    r = subprocess.run([SCALE] + args, env=env_with(preload, extra), capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"bench: scale {' '.join(args[:2])} failed under {preload or 'bare'}: {r.stderr[-300:]}")
    return dict(kv.split("=", 1) for kv in r.stdout.split())

def scale_table(a):
    """Issue 14: static TLS, idle threads, first sight of a module among 10 or 10,000, and dlopen/dlclose
    cycles with the right names. Returns False when a name came out wrong."""
    ok = True
    print()
    print("Scale (issue 14)")
    tls = static_tls(SHIM)
    print(f"  static TLS per thread (PT_TLS MemSiz of libctxguard.so): {tls} bytes (limit 512)")
    rb = [int(scale_run(["threads", "1000"], "")["rss_kb"]) for _ in range(a.reps)]
    rs = [int(scale_run(["threads", "1000"], SHIM)["rss_kb"]) for _ in range(a.reps)]
    print(f"  1,000 idle threads, VmRSS: bare {statistics.median(rb) / 1024:.1f} MB, ctxguard "
          f"{statistics.median(rs) / 1024:.1f} MB (median of {a.reps})")
    print("  first call from a newly loaded module (ctxguard learns it), median of 200 new modules, with N")
    print("  modules already loaded and seen; the second call from the same module beside it:")
    for n in (10, 10000):
        b, s = scale_run(["modules", str(n), TINY, "200"], ""), scale_run(["modules", str(n), TINY, "200"], SHIM)
        print(f"    N={n:6}: first call bare {int(b['first_ns']) / 1000:7.2f} us, ctxguard {int(s['first_ns']) / 1000:7.2f} us; "
              f"second call bare {b['second_ns']} ns, ctxguard {s['second_ns']} ns "
              f"(loading the N: bare {b['load_s']} s, ctxguard {s['load_s']} s)")
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "cycles.jsonl")
        a_so, c_so = os.path.join(B, "plugins", "libplugA.so"), os.path.join(B, "plugins", "libplugC.so")
        bare = scale_run(["cycles", "1000", a_so, c_so], "")
        shim = scale_run(["cycles", "1000", a_so, c_so], SHIM, {"CTXGUARD_LOG_FORMAT": "json", "CTXGUARD_LOG": log})
        import json
        callers = [json.loads(l).get("caller") for l in open(log) if '"call":"cudaDeviceReset"' in l]
        right = sum(1 for i, c in enumerate(callers) if c == (c_so if i % 2 else a_so))
        print(f"  1,000 dlopen/dlclose cycles (A and C alternately, each resets once): {right}/{len(callers)} resets "
              f"named right; {float(shim['cycle_us']):.1f} us per cycle (bare {float(bare['cycle_us']):.1f} us)")
        ok = right == 1000 and len(callers) == 1000
    return ok

if __name__ == "__main__":
    sys.exit(main())
