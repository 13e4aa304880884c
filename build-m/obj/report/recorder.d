build-m/obj/report/recorder.o: shim/report/recorder.c shim/core/core.h \
 shim/core/config.h shim/core/hooks.h shim/core/cuda_abi.h \
 shim/core/hooks.def shim/core/libdl.h shim/core/locks.h \
 shim/core/open_dest.h shim/core/sink.h shim/report/log.h \
 shim/core/diag.h
shim/core/core.h:
shim/core/config.h:
shim/core/hooks.h:
shim/core/cuda_abi.h:
shim/core/hooks.def:
shim/core/libdl.h:
shim/core/locks.h:
shim/core/open_dest.h:
shim/core/sink.h:
shim/report/log.h:
shim/core/diag.h:
