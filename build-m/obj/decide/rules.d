build-m/obj/decide/rules.o: shim/decide/rules.c shim/core/hooks.h \
 shim/core/cuda_abi.h shim/core/hooks.def shim/decide/rules.h
shim/core/hooks.h:
shim/core/cuda_abi.h:
shim/core/hooks.def:
shim/decide/rules.h:
