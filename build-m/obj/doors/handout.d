build-m/obj/doors/handout.o: shim/doors/handout.c shim/core/hooks.h \
 shim/core/cuda_abi.h shim/core/hooks.def shim/doors/handout.h \
 shim/track/resolve.h shim/core/libdl.h shim/track/modules.h \
 shim/core/core.h shim/core/config.h shim/core/locks.h
shim/core/hooks.h:
shim/core/cuda_abi.h:
shim/core/hooks.def:
shim/doors/handout.h:
shim/track/resolve.h:
shim/core/libdl.h:
shim/track/modules.h:
shim/core/core.h:
shim/core/config.h:
shim/core/locks.h:
