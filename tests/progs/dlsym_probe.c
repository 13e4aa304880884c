/* Prints where each lookup lands (the file that defines the returned pointer), so a test can compare
 * a run under ctxguard with a bare one. Also drives cuGetProcAddress through both ABIs. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

static const char *where(void *p)
{
    Dl_info i;
    if (!p)
        return "(null)";
    if (!dladdr(p, &i) || !i.dli_fname)
        return "(unknown)";
    const char *b = strrchr(i.dli_fname, '/');
    return b ? b + 1 : i.dli_fname;
}

typedef int (*gpa1_fn)(const char *, void **, int, unsigned long long);
typedef int (*gpa2_fn)(const char *, void **, int, unsigned long long, int *);

int main(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        printf("no libcuda: %s\n", dlerror());
        return 3;
    }
    printf("reset %s\n", where(dlsym(h, "cuDevicePrimaryCtxReset")));
    printf("reset_v2 %s\n", where(dlsym(h, "cuDevicePrimaryCtxReset_v2")));
    printf("getcurrent %s\n", where(dlsym(h, "cuCtxGetCurrent")));
    printf("cudnn %s\n", where(dlsym(h, "cudnnCreate")));
    printf("missing %s\n", where(dlsym(h, "cuNoSuchFunction")));
    printf("next_fopen %s\n", where(dlsym(RTLD_NEXT, "fopen")));
    printf("next_dlsym %s\n", where(dlsym(RTLD_NEXT, "dlsym")));
    printf("default_fopen %s\n", where(dlsym(RTLD_DEFAULT, "fopen")));

    gpa2_fn gpa = (gpa2_fn)dlsym(h, "cuGetProcAddress_v2");
    void *self1 = NULL, *self2 = NULL, *p = NULL;
    int st = 77;
    int r1 = gpa("cuGetProcAddress", &self1, 11030, 0, &st);
    printf("self_v1 r=%d st=%d %s\n", r1, st, where(self1));
    st = 77;
    int r2 = gpa("cuGetProcAddress", &self2, 12000, 0, &st);
    printf("self_v2 r=%d st=%d %s\n", r2, st, where(self2));
    /* through the v2 self-lookup result: 5 arguments, status must be set */
    st = 77;
    int r = ((gpa2_fn)self2)("cuDevicePrimaryCtxReset", &p, 11000, 0, &st);
    printf("via_v2 r=%d st=%d %s\n", r, st, where(p));
    /* through the v1 result: 4 arguments */
    p = NULL;
    r = ((gpa1_fn)self1)("cuCtxDestroy", &p, 4000, 0);
    printf("via_v1 r=%d %s\n", r, where(p));
    /* an unguarded function comes back untouched, an unknown one fails as the driver says */
    p = NULL;
    st = 77;
    r = ((gpa2_fn)self2)("cuCtxGetCurrent", &p, 4000, 0, &st);
    printf("unguarded r=%d st=%d %s\n", r, st, where(p));
    p = NULL;
    st = 77;
    r = ((gpa2_fn)self2)("cuNoSuchFunction", &p, 12000, 0, &st);
    printf("unknown r=%d st=%d %s\n", r, st, where(p));
    return 0;
}
