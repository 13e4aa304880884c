/* glibc's dl* functions, as the program would reach them without ctxguard. ctxguard exports dlsym,
 * dlopen and dlclose itself (arch/x86_64/dlsym_entry.S), so "the real one" is any definition that is
 * not in ctxguard's own object. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>
#include <stdint.h>

#include "core/libdl.h"

void *(*cg_real_dlsym)(void *, const char *);
int (*cg_real_dlclose)(void *);
void *(*cg_real_dlopen)(const char *, int);

/* ctxguard's own object, by its load base: dladdr, because it is safe this early (a sanitizer runtime
 * preloaded first calls dlsym while initialising itself, and intercepts dl_iterate_phdr). */
static void *self_base;

int cg_is_own_code(const void *p)
{
    Dl_info info;
    void *base = __atomic_load_n(&self_base, __ATOMIC_ACQUIRE);
    if (base == NULL) { /* same answer from any thread */
        if (!dladdr((void *)(uintptr_t)cg_is_own_code, &info) || info.dli_fbase == NULL)
            return 0;
        base = info.dli_fbase;
        __atomic_store_n(&self_base, base, __ATOMIC_RELEASE);
    }
    return p != NULL && dladdr(p, &info) && info.dli_fbase == base;
}

/* glibc's definition of a dl* function. RTLD_NEXT first (what any later preload wraps stays
 * wrapped); when an object preloaded *before* ctxguard defines it (a second interposer, or libc
 * itself), nothing after ctxguard does: then the global scope's first. Never ctxguard's own entry. */
static void *glibc_fn(const char *name)
{
    static const char *const versions[] = {"GLIBC_2.34", "GLIBC_2.2.5"};
    for (int v = 0; v < 2; v++) {
        void *p = dlvsym(RTLD_NEXT, name, versions[v]);
        if (p && !cg_is_own_code(p))
            return p;
    }
    /* The first definition in the global scope: the object preloaded before ctxguard (libc itself,
     * or another interposer, whose wrapper ctxguard then calls through, as the program does). */
    for (int v = 0; v < 2; v++) {
        void *p = dlvsym(RTLD_DEFAULT, name, versions[v]);
        if (p && !cg_is_own_code(p))
            return p;
    }
    return NULL;
}

void *cg_resolve_real_dlsym(void)
{
    void *p = __atomic_load_n(&cg_real_dlsym, __ATOMIC_ACQUIRE);
    if (p)
        return p;
    void *c = glibc_fn("dlclose");
    void *o = glibc_fn("dlopen");
    p = glibc_fn("dlsym");
    __atomic_store_n(&cg_real_dlopen, (void *(*)(const char *, int))o, __ATOMIC_RELEASE);
    __atomic_store_n(&cg_real_dlclose, (int (*)(void *))c, __ATOMIC_RELEASE);
    __atomic_store_n(&cg_real_dlsym, (void *(*)(void *, const char *))p, __ATOMIC_RELEASE);
    return p;
}
