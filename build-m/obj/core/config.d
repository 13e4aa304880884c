build-m/obj/core/config.o: shim/core/config.c shim/core/config.h
shim/core/config.h:
