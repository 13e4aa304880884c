build-m/obj/track/resolve.o: shim/track/resolve.c shim/core/diag.h \
 shim/core/sink.h shim/core/stamp.h shim/core/guard.h shim/core/core.h \
 shim/core/config.h shim/core/hooks.h shim/core/cuda_abi.h \
 shim/core/hooks.def shim/core/libdl.h shim/core/locks.h \
 shim/track/resolve.h shim/track/modules.h
shim/core/diag.h:
shim/core/sink.h:
shim/core/stamp.h:
shim/core/guard.h:
shim/core/core.h:
shim/core/config.h:
shim/core/hooks.h:
shim/core/cuda_abi.h:
shim/core/hooks.def:
shim/core/libdl.h:
shim/core/locks.h:
shim/track/resolve.h:
shim/track/modules.h:
