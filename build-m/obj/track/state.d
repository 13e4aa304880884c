build-m/obj/track/state.o: shim/track/state.c shim/core/guard.h \
 shim/core/core.h shim/core/config.h shim/core/hooks.h \
 shim/core/cuda_abi.h shim/core/hooks.def shim/core/libdl.h \
 shim/core/locks.h shim/track/resolve.h shim/track/modules.h \
 shim/track/resources.h shim/track/state.h
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
shim/track/resources.h:
shim/track/state.h:
