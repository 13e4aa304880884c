build-m/obj/core/locks.o: shim/core/locks.c shim/core/locks.h
shim/core/locks.h:
