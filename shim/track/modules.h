/* Loaded objects ("modules"): which one an address belongs to, what kind it is, and who made a call. */
#ifndef CTXGUARD_MODULES_H
#define CTXGUARD_MODULES_H

#include <stdint.h>

#include "core/core.h"

/* Everything declared here is internal: hidden declarations let hot globals be read with one
 * rip-relative load instead of a GOT load first. */
#pragma GCC visibility push(hidden)

#define CG_MAX_MODULES 64 /* slot 0 is "unknown" (JIT code, anonymous memory) */

enum cg_mod_class {
    CG_MOD_UNKNOWN = 0,
    CG_MOD_USER,   /* the program and its plugins: the parties ctxguard arbitrates between */
    CG_MOD_NVIDIA, /* CUDA runtime and math libraries: they act on behalf of a user module */
    CG_MOD_DRIVER, /* libcuda and libnvidia-*: their dlsym lookups are never touched */
    CG_MOD_SHIM,   /* ctxguard itself */
    CG_MOD_SYSTEM, /* libc and the loader: a call started there (exit handlers, destructors) has no
                      module behind it */
    CG_MOD_CARRIER, /* libffi, libstdc++…: they only carry a call for the module above them */
};

struct cg_module {
    uintptr_t lo, hi;    /* address range of the object's loadable segments; 0,0 when the slot is free */
    void *link_map;      /* glibc's struct link_map for it (never dereferenced after a dlclose) */
    uintptr_t l_addr;    /* its load bias and loader name: how it is recognised as still loaded */
    char l_name[CG_PATH_MAX];
    int cls;             /* enum cg_mod_class */
    int is_main;         /* the executable: its dependency scope is the global scope */
    int watched;         /* a rule may decide its ordinary calls: no fast path; -1 not yet known */
    char path[CG_PATH_MAX]; /* absolute path, for logs */
};

extern struct cg_module cg_modules[CG_MAX_MODULES];
/* Bumped whenever a slot is freed, so per-thread caches drop it. On a cache line of its own (the
 * struct is 64 bytes): every fast-path call reads it, only dlclose writes it. */
struct cg_mod_gen_line {
    unsigned int v;
} __attribute__((aligned(64)));
extern struct cg_mod_gen_line cg_mod_gen_line;
#define cg_mod_gen (cg_mod_gen_line.v)

/* The base name of module m's path, for messages; "(unknown)" for no module. */
const char *cg_module_base(int m);
extern int cg_mod_count;          /* slots in use, published with release */

int cg_module_of_slow(uintptr_t addr, unsigned int gen);

/* Several threads may compute and store `watched` at once (the same value): atomic accesses. */
static inline int cg_watched(int m)
{
    return __atomic_load_n(&cg_modules[m].watched, __ATOMIC_RELAXED);
}

/* The module an address lies in. Hot path: one per-thread range compare. */
static inline int cg_module_of(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    unsigned int g = __atomic_load_n(&cg_mod_gen, __ATOMIC_ACQUIRE);
    if (CG_LIKELY(a - cg_tls.mod_lo < cg_tls.mod_span && cg_tls.mod_gen == g))
        return cg_tls.mod;
    return cg_module_of_slow(a, g);
}

/* The module an address lies in, leaving the thread's cached module (the runtime fast path's) as it
 * is: for doors the runtime itself calls through, whose callers alternate with the module's own. */
int cg_module_peek_slow(uintptr_t addr, unsigned int gen);
static inline int cg_module_peek(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    unsigned int g = __atomic_load_n(&cg_mod_gen, __ATOMIC_ACQUIRE);
    if (CG_LIKELY(a - cg_tls.mod_lo < cg_tls.mod_span && cg_tls.mod_gen == g))
        return cg_tls.mod;
    return cg_module_peek_slow(a, g);
}

/* The module on whose behalf a call runs: the first stack frame in a user module, starting from
 * `ra`. Walks the stack only when `ra` itself is not in a user module. When no user module is on
 * the stack (a runtime tearing itself down at exit), returns the immediate module and sets
 * *no_user (if given). */
int cg_attribute_ex(const void *ra, int *no_user);
static inline int cg_attribute(const void *ra)
{
    return cg_attribute_ex(ra, NULL);
}

/* Classification by file name alone (exposed for tests). */
int cg_classify_path(const char *path);

/* After a dlclose: free the slots of objects that are gone. */
void cg_modules_revalidate(void);

/* Told when a slot is freed (its module was unloaded), so that other tables forget what they keep
 * for it: a registration (made by init.c), because those tables live in files that use this one. */
typedef void (*cg_module_freed_fn)(int m);
void cg_modules_on_freed(cg_module_freed_fn f);

/* The listeners init.c registers. */
void cg_state_forget_module(int m);
void cg_resolve_forget_module(int m);

#pragma GCC visibility pop

#endif
