build-m/obj/core/sink.o: shim/core/sink.c shim/core/core.h \
 shim/core/config.h shim/core/hooks.h shim/core/cuda_abi.h \
 shim/core/hooks.def shim/core/libdl.h shim/core/locks.h \
 shim/core/open_dest.h shim/core/sink.h shim/core/syslog_sink.h
shim/core/core.h:
shim/core/config.h:
shim/core/hooks.h:
shim/core/cuda_abi.h:
shim/core/hooks.def:
shim/core/libdl.h:
shim/core/locks.h:
shim/core/open_dest.h:
shim/core/sink.h:
shim/core/syslog_sink.h:
