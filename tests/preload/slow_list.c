/* Test interposer (preloaded before ctxguard): dl_iterate_phdr waits SLOW_LIST_US microseconds
 * (default 2000) before listing, which widens the time ctxguard's dlclose spends between the real
 * dlclose and forgetting the handles of what it unloaded (tests/test_stress.c, handles_during_dlclose). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <time.h>

typedef int (*cb_fn)(struct dl_phdr_info *, size_t, void *);

__attribute__((visibility("default"))) int dl_iterate_phdr(cb_fn cb, void *data)
{
    static int (*real)(cb_fn, void *);
    if (!real)
        real = (int (*)(cb_fn, void *))dlsym(RTLD_NEXT, "dl_iterate_phdr");
    const char *s = getenv("SLOW_LIST_US");
    long us = s ? atol(s) : 2000;
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    nanosleep(&t, NULL);
    return real(cb, data);
}
