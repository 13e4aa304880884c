/* dlopen's answers, and the handles ctxguard keeps from it (doors/dl_hooks.c, track/lm_index.c):
 *   reopen_host DIR   DIR/libplugA.so is dlopen'ed by its absolute path and makes a CUDA call
 *                     (ctxguard looks its runtime up through the handle it kept), is unloaded, then
 *                     comes back as a dependency of ./libdepA.so (opened from DIR): an object dlopen
 *                     never returned. A handle kept for the first A must not be used for the
 *                     second. With a long name first and a short one after, glibc's malloc usually
 *                     gives the second A the first one's link map address, the case that matters
 *                     (printed: "same link map 1").
 * Then dlopen's meaning for the caller: "$ORIGIN" is the caller's directory, and a missing path
 * fails with dlerror naming it. Prints one line per step; exits 0 when both calls succeeded (the
 * test compares the other lines: a sanitizer's dlopen, preloaded first, has its own "$ORIGIN"). */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef int (*call_fn)(void);

static call_fn sym(void *h, const char *name)
{
    call_fn f = h ? (call_fn)dlsym(h, name) : NULL;
    if (!f)
        fprintf(stderr, "reopen_host: %s: %s\n", name, dlerror());
    return f;
}

int main(int argc, char **argv)
{
    char path[4096];
    if (argc != 2 || snprintf(path, sizeof path, "%s/libplugA.so", argv[1]) >= (int)sizeof path || chdir(argv[1]) != 0)
        return 3;
    void *a = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    call_fn get = sym(a, "plug_getdevice");
    if (!get)
        return 3;
    printf("first r=%d\n", get());
    struct link_map *lm1 = NULL, *lm2 = NULL;
    dlinfo(a, RTLD_DI_LINKMAP, &lm1);
    if (dlclose(a) != 0)
        return 3;
    void *d = dlopen("./libdepA.so", RTLD_NOW | RTLD_LOCAL);
    get = sym(d, "plug_getdevice");
    if (!get)
        return 3;
    Dl_info info;
    dladdr1((void *)get, &info, (void **)&lm2, RTLD_DL_LINKMAP);
    /* whether the loader gave the second A the first one's link map (the case that matters) */
    printf("same link map %d\n", lm1 == lm2);
    int r = get();
    printf("second r=%d\n", r);
    void *o = dlopen("$ORIGIN/../fake/libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    printf("origin %s\n", o ? "found" : dlerror());
    void *m = dlopen("/nonexistent/libctxguard-test-missing.so", RTLD_NOW);
    const char *e = m ? NULL : dlerror();
    printf("missing %s\n", e && strstr(e, "/nonexistent/libctxguard-test-missing.so") ? "named" : "unnamed");
    return r != 0;
}
