#!/usr/bin/env bash
# Builds the test plugins and the CUDA host with nvcc against the real runtime, into build/gpu:
# libplugA/B/C.so (shared cudart), libplugS1/S2.so (static cudart, nvcc's default), cuda_host.
# Plugins make no tail calls to CUDA (see docs/architecture.md, Limits).
set -eu
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/cuda/bin
G=build/gpu
mkdir -p "$G"
make -s all build/progs/plugin_host >/dev/null
NV="nvcc -arch=${CUDA_ARCH:-sm_90} -O2 -Xcompiler -fPIC,-fno-optimize-sibling-calls -x cu"
for p in A B C; do $NV -shared -cudart shared -o "$G/libplug$p.so" tests/plugins/plug.c -lcuda -ldl; done
for p in S1 S2; do $NV -shared -cudart static -o "$G/libplug$p.so" tests/plugins/plug.c -lcuda -ldl; done
$NV -cudart shared -Xlinker -export-dynamic -o "$G/cuda_host" tests/progs/plugin_host.c tests/plugins/plug.c -lcuda -ldl
