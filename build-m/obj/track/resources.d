build-m/obj/track/resources.o: shim/track/resources.c \
 shim/track/modules.h shim/core/core.h shim/core/config.h \
 shim/core/hooks.h shim/core/cuda_abi.h shim/core/hooks.def \
 shim/core/libdl.h shim/core/locks.h shim/track/resources.h \
 shim/track/state.h
shim/track/modules.h:
shim/core/core.h:
shim/core/config.h:
shim/core/hooks.h:
shim/core/cuda_abi.h:
shim/core/hooks.def:
shim/core/libdl.h:
shim/core/locks.h:
shim/track/resources.h:
shim/track/state.h:
