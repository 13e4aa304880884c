build-m/obj/core/syslog_sink.o: shim/core/syslog_sink.c shim/core/core.h \
 shim/core/config.h shim/core/hooks.h shim/core/cuda_abi.h \
 shim/core/hooks.def shim/core/libdl.h shim/core/locks.h shim/core/sink.h \
 shim/core/stamp.h shim/core/syslog_sink.h
shim/core/core.h:
shim/core/config.h:
shim/core/hooks.h:
shim/core/cuda_abi.h:
shim/core/hooks.def:
shim/core/libdl.h:
shim/core/locks.h:
shim/core/sink.h:
shim/core/stamp.h:
shim/core/syslog_sink.h:
