/* A library that closes handles it is given. Opened RTLD_DEEPBIND, it finds dlclose in its own
 * dependency scope (libc) before the global scope: its dlclose is glibc's, not the preload's, so
 * ctxguard does not see it (tests/progs/unseen_unload.c). */
#include <dlfcn.h>

__attribute__((visibility("default"))) int closer_close(void *h)
{
    return dlclose(h);
}
