build-m/obj/report/summary.o: shim/report/summary.c shim/core/core.h \
 shim/core/config.h shim/core/hooks.h shim/core/cuda_abi.h \
 shim/core/hooks.def shim/core/libdl.h shim/core/locks.h shim/core/sink.h \
 shim/core/stamp.h shim/report/log.h shim/core/diag.h \
 shim/track/resources.h shim/track/modules.h shim/track/state.h
shim/core/core.h:
shim/core/config.h:
shim/core/hooks.h:
shim/core/cuda_abi.h:
shim/core/hooks.def:
shim/core/libdl.h:
shim/core/locks.h:
shim/core/sink.h:
shim/core/stamp.h:
shim/report/log.h:
shim/core/diag.h:
shim/track/resources.h:
shim/track/modules.h:
shim/track/state.h:
