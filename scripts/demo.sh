#!/usr/bin/env bash
# make demo: a plugin host loads plugin A (allocates, uploads, runs a kernel) and plugin B (calls
# cudaDeviceReset), then asks A for its data back. First without ctxguard, then under it.
# Runs on the real GPU where nvidia-smi and nvcc work, else on the fake CUDA libraries.
set -u
cd "$(dirname "$0")/.."
ROOT=$PWD
export PATH=$PATH:/usr/local/cuda/bin
if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1 && command -v nvcc >/dev/null 2>&1; then
    export LD_LIBRARY_PATH=/usr/local/cuda/lib64${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    scripts/build-gpu.sh || exit 1
    P=$ROOT/build/gpu; WHERE="the real GPU: $(nvidia-smi -L | head -1)"
else
    make -s all test-progs >/dev/null || exit 1
    P=$ROOT/build/plugins; WHERE="the fake CUDA libraries (no GPU here)"
fi
HOST=$ROOT/build/progs/plugin_host
STEPS=("$P/libplugA.so:setup" "$P/libplugB.so:reset" "$P/libplugA.so:check")
echo "ctxguard demo on $WHERE"
echo "  steps: A:setup (cudaMalloc, memcpy, kernel)  ->  B:reset (cudaDeviceReset)  ->  A:check (memcpy back, compare)"
echo
echo "== 1. without ctxguard"
"$HOST" "${STEPS[@]}"; bare=$?
echo
echo "== 2. with LD_PRELOAD=build/libctxguard.so (default mode: guard)"
LD_PRELOAD=$ROOT/build/libctxguard.so "$HOST" "${STEPS[@]}" 2>&1; guarded=$?
echo
if [ $bare = 1 ] && [ $guarded = 0 ]; then
    echo "Result: without ctxguard plugin B's reset destroyed plugin A's memory (A's next memcpy failed);"
    echo "under ctxguard the reset was blocked, B was told success, and A's data is intact. The log line"
    echo "above names B as the caller and A as the module that shares the primary context."
else
    echo "Result: unexpected (bare exit $bare, guarded exit $guarded); see the output above."
    exit 1
fi

# Act 3: a host that reloads plugin B five times; B allocates (PLUG_ALLOC_MB MiB, a stream, an event)
# and resets at every load. Blocked, each reset keeps A's data but leaks B's memory; reclaimed, B's
# own memory is freed at each reset and memory in use stays flat.
MB=${PLUG_ALLOC_MB:-64}
CYCLE=()
for i in 1 2 3 4 5; do CYCLE+=("$P/libplugB.so:alloc" "$P/libplugB.so:reset" "$P/libplugB.so:unload"); done
RELOAD=("$P/libplugA.so:setup" "$P/libplugA.so:meminfo" "${CYCLE[@]}" "$P/libplugA.so:check" "$P/libplugA.so:meminfo")
used() { grep -o 'meminfo used=[0-9]*' | sed -n "$1p" | cut -d= -f2; }
echo
echo "== 3. a reloading plugin: B allocates ${MB} MiB and resets at each of 5 loads, beside A"
echo "-- blocked (guard):"
outb=$(PLUG_ALLOC_MB=$MB CTXGUARD_SUMMARY=1 LD_PRELOAD=$ROOT/build/libctxguard.so "$HOST" "${RELOAD[@]}" 2>&1); sb=$?
printf '%s\n' "$outb" | grep -E 'check|left behind'
echo "-- reclaimed (CTXGUARD_RECLAIM=1):"
outr=$(PLUG_ALLOC_MB=$MB CTXGUARD_RECLAIM=1 LD_PRELOAD=$ROOT/build/libctxguard.so "$HOST" "${RELOAD[@]}" 2>&1); sr=$?
printf '%s\n' "$outr" | grep -E 'check|reclaimed=' | sed 's/ reason=.*//' | tail -3
b0=$(printf '%s\n' "$outb" | used 1); b1=$(printf '%s\n' "$outb" | used 2)
r0=$(printf '%s\n' "$outr" | used 1); r1=$(printf '%s\n' "$outr" | used 2)
echo
echo "device memory in use before/after the 5 loads: blocked $((b0 >> 20)) -> $((b1 >> 20)) MiB; reclaimed $((r0 >> 20)) -> $((r1 >> 20)) MiB"
if [ $sb = 0 ] && [ $sr = 0 ] && [ "$r0" = "$r1" ] && [ "$b1" -gt "$b0" ]; then
    echo "Result: A's data intact both ways; blocked, B's memory grew with every load (the exit summary"
    echo "says so); reclaimed, each reset freed B's own memory, stream and event, and nothing of A's."
else
    echo "Result: unexpected (blocked exit $sb, reclaimed exit $sr); see the output above."
    exit 1
fi
