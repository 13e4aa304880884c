build-m/obj/core/hooks.o: shim/core/hooks.c shim/core/hooks.h \
 shim/core/cuda_abi.h shim/core/hooks.def
shim/core/hooks.h:
shim/core/cuda_abi.h:
shim/core/hooks.def:
