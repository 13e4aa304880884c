build-m/obj/core/globals.o: shim/core/globals.c shim/core/core.h \
 shim/core/config.h shim/core/hooks.h shim/core/cuda_abi.h \
 shim/core/hooks.def shim/core/libdl.h shim/core/locks.h
shim/core/core.h:
shim/core/config.h:
shim/core/hooks.h:
shim/core/cuda_abi.h:
shim/core/hooks.def:
shim/core/libdl.h:
shim/core/locks.h:
