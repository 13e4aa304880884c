build-m/obj/core/libdl.o: shim/core/libdl.c shim/core/libdl.h
shim/core/libdl.h:
