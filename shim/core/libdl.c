/* glibc's dl* functions, as the program would reach them without ctxguard. ctxguard exports dlsym,
 * dlopen and dlclose itself (arch/x86_64/dlsym_entry.S), so "the real one" is any definition that is
 * not in ctxguard's own object. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <stddef.h>
#include <stdint.h>

#include "core/libdl.h"

void *(*cg_real_dlsym)(void *, const char *);
int (*cg_real_dlclose)(void *);
void *(*cg_real_dlopen)(const char *, int);

/* ctxguard's own object: the range its segments span, read once from its own program headers
 * (__ehdr_start, the linker's name for the object's own ELF header). No loader call: safe at any
 * time (a sanitizer runtime preloaded first calls dlsym while initialising itself), and one compare
 * whatever the number of objects loaded (dladdr walks them all). */
extern const ElfW(Ehdr) __ehdr_start __attribute__((visibility("hidden")));

static uintptr_t own_lo, own_hi;

static void own_range(void)
{
    const ElfW(Ehdr) *eh = &__ehdr_start;
    const ElfW(Phdr) *ph = (const ElfW(Phdr) *)((const char *)eh + eh->e_phoff);
    uintptr_t lo = UINTPTR_MAX, hi = 0, bias = 0;
    for (int i = 0; i < eh->e_phnum; i++)
        if (ph[i].p_type == PT_LOAD && ph[i].p_offset == 0)
            bias = (uintptr_t)eh - ph[i].p_vaddr; /* the segment that maps the header */
    for (int i = 0; i < eh->e_phnum; i++) {
        if (ph[i].p_type != PT_LOAD)
            continue;
        uintptr_t s = bias + ph[i].p_vaddr, e = s + ph[i].p_memsz;
        lo = s < lo ? s : lo;
        hi = e > hi ? e : hi;
    }
    __atomic_store_n(&own_lo, lo, __ATOMIC_RELAXED);
    __atomic_store_n(&own_hi, hi, __ATOMIC_RELEASE); /* same answer from any thread */
}

int cg_is_own_code(const void *p)
{
    if (__atomic_load_n(&own_hi, __ATOMIC_ACQUIRE) == 0)
        own_range();
    uintptr_t a = (uintptr_t)p, lo = __atomic_load_n(&own_lo, __ATOMIC_RELAXED);
    return p != NULL && a - lo < __atomic_load_n(&own_hi, __ATOMIC_RELAXED) - lo;
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
