#!/usr/bin/env python3
"""A Python program that uses the CUDA runtime through ctypes (libffi carries every call) beside a
plugin that resets the device: the plugin allocates, Python allocates and uploads its own data
through ctypes, the plugin resets, Python reads its data back.
    ctypes_user.py RUNTIME PLUGIN      RUNTIME: libcudart path or soname; PLUGIN: a test plugin
Prints each step; exit 0 when Python's data came back intact, 1 when it was lost, 2 on a setup error."""
import ctypes, sys

rt = ctypes.CDLL(sys.argv[1])
plug = ctypes.CDLL(sys.argv[2])
name = sys.argv[2].rsplit("/", 1)[-1]
r = plug.plug_setup()
print(f"{name}:setup -> {r}")
if r:
    sys.exit(2)
n = 4096
src = (ctypes.c_ubyte * n)(*[(i * 7) & 0xff for i in range(n)])
dst = (ctypes.c_ubyte * n)()
p = ctypes.c_void_p()
r = rt.cudaMalloc(ctypes.byref(p), ctypes.c_size_t(n))
print(f"python:cudaMalloc -> {r}")
if r:
    sys.exit(2)
r = rt.cudaMemcpy(p, src, ctypes.c_size_t(n), 1)  # host to device
print(f"python:upload -> {r}")
if r:
    sys.exit(2)
print(f"{name}:reset -> {plug.plug_reset()}")
r = rt.cudaMemcpy(dst, p, ctypes.c_size_t(n), 2)  # device to host
print(f"python:check -> {r}")
sys.exit(0 if r == 0 and bytes(dst) == bytes(src) else 1)
