build-m/obj/report/nvtx.o: shim/report/nvtx.c shim/core/guard.h \
 shim/core/core.h shim/core/config.h shim/core/hooks.h \
 shim/core/cuda_abi.h shim/core/hooks.def shim/core/libdl.h \
 shim/core/locks.h shim/report/log.h shim/core/diag.h shim/core/sink.h \
 shim/core/stamp.h shim/track/resources.h shim/track/modules.h \
 shim/track/state.h shim/report/nvtx.h
shim/core/guard.h:
shim/core/core.h:
shim/core/config.h:
shim/core/hooks.h:
shim/core/cuda_abi.h:
shim/core/hooks.def:
shim/core/libdl.h:
shim/core/locks.h:
shim/report/log.h:
shim/core/diag.h:
shim/core/sink.h:
shim/core/stamp.h:
shim/track/resources.h:
shim/track/modules.h:
shim/track/state.h:
shim/report/nvtx.h:
