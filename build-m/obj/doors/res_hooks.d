build-m/obj/doors/res_hooks.o: shim/doors/res_hooks.c shim/core/hooks.h \
 shim/core/cuda_abi.h shim/core/hooks.def shim/track/modules.h \
 shim/core/core.h shim/core/config.h shim/core/libdl.h shim/core/locks.h \
 shim/track/resolve.h shim/track/resources.h shim/track/state.h
shim/core/hooks.h:
shim/core/cuda_abi.h:
shim/core/hooks.def:
shim/track/modules.h:
shim/core/core.h:
shim/core/config.h:
shim/core/libdl.h:
shim/core/locks.h:
shim/track/resolve.h:
shim/track/resources.h:
shim/track/state.h:
