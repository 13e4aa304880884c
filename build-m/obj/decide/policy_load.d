build-m/obj/decide/policy_load.o: shim/decide/policy_load.c \
 shim/core/diag.h shim/core/sink.h shim/decide/policy.h \
 shim/core/config.h shim/decide/rules.h shim/report/log.h
shim/core/diag.h:
shim/core/sink.h:
shim/decide/policy.h:
shim/core/config.h:
shim/decide/rules.h:
shim/report/log.h:
