/* Links libplugE.so, whose constructor allocates and launches before main runs (and before ctxguard
 * has been asked anything). Then plugin B (dlopen'ed) resets, and E's data is checked.
 * Usage: early_host libplugB.so. Exit 0: constructor succeeded and data intact; 1: data lost. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdio.h>

extern int plug_ctor_result;
int plug_check(void);

int main(int argc, char **argv)
{
    if (argc < 2)
        return 3;
    printf("constructor setup -> %d\n", plug_ctor_result);
    void *b = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
    int (*reset)(void) = b ? (int (*)(void))dlsym(b, "plug_reset") : NULL;
    if (!reset)
        return 3;
    printf("B:reset -> %d\n", reset());
    int c = plug_check();
    printf("E:check -> %d\n", c);
    return plug_ctor_result != 0 ? 2 : c != 0;
}
