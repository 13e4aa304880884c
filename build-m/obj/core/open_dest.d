build-m/obj/core/open_dest.o: shim/core/open_dest.c shim/core/open_dest.h
shim/core/open_dest.h:
