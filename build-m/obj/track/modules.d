build-m/obj/track/modules.o: shim/track/modules.c shim/core/guard.h \
 shim/core/core.h shim/core/config.h shim/core/hooks.h \
 shim/core/cuda_abi.h shim/core/hooks.def shim/core/libdl.h \
 shim/core/locks.h shim/track/resources.h shim/track/modules.h \
 shim/track/state.h shim/track/names.h
shim/core/guard.h:
shim/core/core.h:
shim/core/config.h:
shim/core/hooks.h:
shim/core/cuda_abi.h:
shim/core/hooks.def:
shim/core/libdl.h:
shim/core/locks.h:
shim/track/resources.h:
shim/track/modules.h:
shim/track/state.h:
shim/track/names.h:
