/* libctxguard-noop.so: the benchmark's control. Same exports as libctxguard.so, generated from the
 * same hooks.def, but each wrapper only forwards (RTLD_NEXT, resolved once) and dlsym/dlopen go
 * through the same assembly entry without looking at anything. The difference between a run under
 * this twin and one under ctxguard is what ctxguard's own logic costs; the difference between bare
 * and the twin is the price of any preload with these exports. Never for production. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

#include "core/hooks.h"

void *(*cg_real_dlsym)(void *, const char *);
void *(*cg_real_dlopen)(const char *, int);
static int (*real_dlclose)(void *);

void *cg_resolve_real_dlsym(void);
void *cg_resolve_real_dlsym(void)
{
    if (!cg_real_dlsym) {
        cg_real_dlsym = (void *(*)(void *, const char *))dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.34");
        if (!cg_real_dlsym)
            cg_real_dlsym = (void *(*)(void *, const char *))dlvsym(RTLD_NEXT, "dlsym", "GLIBC_2.2.5");
        cg_real_dlopen = (void *(*)(const char *, int))dlvsym(RTLD_NEXT, "dlopen", "GLIBC_2.34");
        if (!cg_real_dlopen)
            cg_real_dlopen = (void *(*)(const char *, int))dlvsym(RTLD_NEXT, "dlopen", "GLIBC_2.2.5");
        real_dlclose = (int (*)(void *))dlvsym(RTLD_NEXT, "dlclose", "GLIBC_2.34");
        if (!real_dlclose)
            real_dlclose = (int (*)(void *))dlvsym(RTLD_NEXT, "dlclose", "GLIBC_2.2.5");
    }
    return (void *)cg_real_dlsym;
}

void *cg_dlsym_handle(void *handle, const char *name);
void *cg_dlsym_handle(void *handle, const char *name)
{
    return cg_real_dlsym(handle, name);
}

void cg_note_deepbind(const char *file, int flags, const void *ra);
void cg_note_deepbind(const char *file, int flags, const void *ra)
{
    (void)file;
    (void)flags;
    (void)ra;
}

/* dlopen: always the tail jump (pure forwarding keeps no handle) */
int cg_dlopen_keeps_handle(const char *file, int flags, const void *ra);
int cg_dlopen_keeps_handle(const char *file, int flags, const void *ra)
{
    (void)file;
    (void)flags;
    (void)ra;
    return 0;
}

void *cg_dlopen_noted(const char *file, int flags);
void *cg_dlopen_noted(const char *file, int flags)
{
    (void)file;
    (void)flags;
    return NULL; /* never reached: cg_dlopen_keeps_handle says no */
}

int cg_dlclose_impl(void *h);
int cg_dlclose_impl(void *h)
{
    cg_resolve_real_dlsym();
    return real_dlclose(h);
}

__attribute__((constructor)) static void early(void)
{
    cg_resolve_real_dlsym();
}

#define FORWARD(ret, name, params, args)                                                             \
    ret name params                                                                                  \
    {                                                                                                \
        static ret(*real) params;                                                                    \
        if (__builtin_expect(real == NULL, 0))                                                       \
            real = (ret(*) params)cg_real_dlsym(RTLD_NEXT, #name);                                   \
        if (__builtin_expect(real == NULL, 0))                                                       \
            return CG_ERR_SYMBOL_NOT_FOUND;                                                          \
        return real args;                                                                            \
    }
#define CG_RT(name, params, args, kind) FORWARD(cudaError_t, name, params, args)
#include "core/hooks.def"
#define CG_DRV(name, base, since, kind, group, params, args) FORWARD(CUresult, name, params, args)
#include "core/hooks.def"
