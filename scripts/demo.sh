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
