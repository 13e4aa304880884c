build-m/obj/core/stamp.o: shim/core/stamp.c shim/core/stamp.h
shim/core/stamp.h:
