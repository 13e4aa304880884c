/* dlopen's handle kept by ctxguard (doors/dl_hooks.c, track/lm_index.c) for an object that is then
 * unloaded by a dlclose ctxguard does not see, and comes back as a dependency of libdepA.so (an
 * object without a search list of its own), usually at the same link map address:
 *   unseen_unload DIR   DIR/libplugA.so is opened by path (ctxguard keeps the handle) and makes no
 *                       CUDA call; libcloser.so, opened RTLD_DEEPBIND (its dlclose is glibc's, found
 *                       in its own scope before the preload's), drops the last reference to it;
 *                       ./libdepA.so brings A back; then A's first CUDA call.
 * Prints "same link map N" (whether A got its old link map back, the case that matters) and "r=R";
 * exits 0 when the call succeeded. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <link.h>
#include <stdio.h>
#include <unistd.h>

typedef int (*call_fn)(void);

int main(int argc, char **argv)
{
    char path[4096];
    if (argc != 2 || snprintf(path, sizeof path, "%s/libplugA.so", argv[1]) >= (int)sizeof path || chdir(argv[1]) != 0)
        return 3;
    void *a = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    struct link_map *lm1 = NULL, *lm2 = NULL;
    if (a == NULL || dlinfo(a, RTLD_DI_LINKMAP, &lm1) != 0)
        return 3;
    void *c = dlopen("./libcloser.so", RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
    int (*close_it)(void *) = c ? (int (*)(void *))dlsym(c, "closer_close") : NULL;
    if (close_it == NULL || close_it(a) != 0)
        return 3;
    void *dep = dlopen("./libdepA.so", RTLD_NOW | RTLD_LOCAL);
    call_fn get = dep ? (call_fn)dlsym(dep, "plug_getdevice") : NULL;
    if (get == NULL) {
        fprintf(stderr, "unseen_unload: %s\n", dlerror());
        return 3;
    }
    Dl_info info;
    dladdr1((void *)get, &info, (void **)&lm2, RTLD_DL_LINKMAP);
    printf("same link map %d\n", lm1 == lm2);
    fflush(stdout);
    int r = get();
    printf("r=%d\n", r);
    return r != 0;
}
