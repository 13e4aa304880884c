build-m/obj/track/names.o: shim/track/names.c shim/track/names.h
shim/track/names.h:
