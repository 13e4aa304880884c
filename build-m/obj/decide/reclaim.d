build-m/obj/decide/reclaim.o: shim/decide/reclaim.c shim/decide/reclaim.h \
 shim/report/log.h shim/core/diag.h shim/core/sink.h shim/core/stamp.h \
 shim/track/resources.h shim/core/core.h shim/core/config.h \
 shim/core/hooks.h shim/core/cuda_abi.h shim/core/hooks.def \
 shim/core/libdl.h shim/core/locks.h shim/track/modules.h \
 shim/track/state.h shim/track/resolve.h
shim/decide/reclaim.h:
shim/report/log.h:
shim/core/diag.h:
shim/core/sink.h:
shim/core/stamp.h:
shim/track/resources.h:
shim/core/core.h:
shim/core/config.h:
shim/core/hooks.h:
shim/core/cuda_abi.h:
shim/core/hooks.def:
shim/core/libdl.h:
shim/core/locks.h:
shim/track/modules.h:
shim/track/state.h:
shim/track/resolve.h:
