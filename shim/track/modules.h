/* Loaded objects ("modules"): which one an address belongs to, what kind it is, and who made a call. */
#ifndef CTXGUARD_MODULES_H
#define CTXGUARD_MODULES_H

#include <stdint.h>

#include "core/core.h"
#include "track/lm_index.h"

/* Everything declared here is internal: hidden declarations let hot globals be read with one
 * rip-relative load instead of a GOT load first. */
#pragma GCC visibility push(hidden)

/* The table grows in chunks of CG_MOD_CHUNK slots, allocated on demand and never moved, so a slot
 * number read without a lock stays a valid index: CG_MOD_CHUNKS chunks, 262,144 slots. */
#define CG_MOD_CHUNK_BITS 8
#define CG_MOD_CHUNK (1 << CG_MOD_CHUNK_BITS)
#define CG_MOD_CHUNKS 1024
#define CG_MOD_CAPACITY (CG_MOD_CHUNK * CG_MOD_CHUNKS)
/* Slot 0 is "unknown" (no module known). Slots 1 and 2 are parties without a module: code in no module
 * (JIT code, anonymous executable memory) is a user of its own, and a use whose module could not be
 * found still counts (it makes the context shared). Loaded objects start at CG_MOD_FIRST. */
#define CG_MOD_ANON 1
#define CG_MOD_UNNAMED 2
#define CG_MOD_FIRST 3

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
    uintptr_t lo, hi;    /* address range of the object's mapping; 0,0 when the slot is free */
    void *link_map;      /* glibc's struct link_map for it (never dereferenced after a dlclose) */
    uintptr_t l_addr;    /* its load bias and loader name: how it is recognised as still loaded */
    const char *l_name;  /* interned (track/names.c): valid for the life of the process */
    const char *path;    /* absolute path, for logs; interned, so a copy of the pointer keeps naming
                            this module after its slot is reused */
    int cls;             /* enum cg_mod_class */
    int is_main;         /* the executable: its dependency scope is the global scope */
    int watched;         /* a rule may decide its ordinary calls: no fast path; -1 not yet known */
    int is_cudart;       /* a shared CUDA runtime (libcudart.so*): see cg_drv_unwrapped_for */
    unsigned int gen;    /* bumped each time the slot is freed: (slot, gen) names one module */
    int next_free;       /* free list (under mod_lock) */
    /* Real runtime entry points for calls from this module (track/resolve.c): NULL until resolved;
     * believed only while rt_epoch is cg_rt_epoch (see there). */
    void *rt_real[CG_RT_COUNT];
    unsigned int rt_epoch;
};


/* Per-slot device bitmaps sit apart from the records, so that listing the users of a device reads
 * 8 bytes per module, not a record each. Bit d: device d (CG_MAX_DEVICES is 64). */
struct cg_mod_chunk {
    uint64_t uses[CG_MOD_CHUNK];    /* the module used device d's primary context */
    uint64_t victims[CG_MOD_CHUNK]; /* it used it when another module last reset it: told once when it
                                       attaches again (decide/attribution.c) */
    uint64_t lost[CG_MOD_CHUNK];    /* the same, kept until the next reset of that device: only a module
                                       that held something in the context explains a failure by it */
    struct cg_module rec[CG_MOD_CHUNK];
};
extern struct cg_mod_chunk *cg_mod_chunks[CG_MOD_CHUNKS];

static inline struct cg_mod_chunk *cg_mod_chunk_of(int m)
{
    return __atomic_load_n(&cg_mod_chunks[(unsigned)m >> CG_MOD_CHUNK_BITS], __ATOMIC_ACQUIRE);
}
/* Module m's record; m is a slot the table handed out (0 <= m < cg_mod_count). */
static inline struct cg_module *cg_mod(int m)
{
    return &cg_mod_chunk_of(m)->rec[m & (CG_MOD_CHUNK - 1)];
}
static inline uint64_t *cg_mod_uses(int m)
{
    return &cg_mod_chunk_of(m)->uses[m & (CG_MOD_CHUNK - 1)];
}
static inline uint64_t *cg_mod_lost(int m)
{
    return &cg_mod_chunk_of(m)->lost[m & (CG_MOD_CHUNK - 1)];
}
static inline uint64_t *cg_mod_victims(int m)
{
    return &cg_mod_chunk_of(m)->victims[m & (CG_MOD_CHUNK - 1)];
}

/* Bumped (under mod_lock) by a dlclose that unloaded something. A pointer cached for a module points
 * into another object (its runtime), and an object unloaded and loaded again at the same address
 * under the same name, between the real dlclose and the table's revalidation after it, keeps its
 * slot: so after any unload every module's cached functions are looked up again, once, lazily. */
extern unsigned int cg_rt_epoch;
static inline int cg_rt_cache_current(int m)
{
    return __atomic_load_n(&cg_mod(m)->rt_epoch, __ATOMIC_ACQUIRE) == __atomic_load_n(&cg_rt_epoch, __ATOMIC_ACQUIRE);
}

/* A module as a per-thread record keeps it (which module moved the thread to another device, which
 * modules last used which device): its slot and the low 13 bits of the slot's generation, so that a
 * record made for a module since unloaded is never read as the module loaded into its slot later
 * (a slot would have to be reused 8,192 times in between to be mistaken). 0 stays "none". */
#define CG_MOD_TAG_SHIFT 18
_Static_assert(CG_MOD_CAPACITY == 1 << CG_MOD_TAG_SHIFT, "a tag's slot bits hold every slot");
static inline int cg_mod_tag(int m)
{
    if (m <= 0)
        return m;
    unsigned int g = __atomic_load_n(&cg_mod(m)->gen, __ATOMIC_ACQUIRE) & 0x1FFF;
    return (int)((unsigned int)m | g << CG_MOD_TAG_SHIFT);
}
/* The module a tag names: its slot while it still holds that module, -1 once it was unloaded. */
static inline int cg_mod_untag(int t)
{
    if (t <= 0)
        return t;
    int m = t & ((1 << CG_MOD_TAG_SHIFT) - 1);
    return cg_mod_tag(m) == t ? m : -1;
}

/* Bumped whenever a slot is freed, so per-thread caches drop it. On a cache line of its own (the
 * struct is 64 bytes): every fast-path call reads it, only dlclose writes it. */
struct cg_mod_gen_line {
    unsigned int v;
} __attribute__((aligned(64)));
extern struct cg_mod_gen_line cg_mod_gen_line;
#define cg_mod_gen (cg_mod_gen_line.v)

/* The full path of module m, for logs and rules; "(unknown)" for no module. Valid for the life of the
 * process (interned), whatever happens to the slot later. */
const char *cg_module_path(int m);
/* The base name of module m's path, for messages; "(unknown)" for no module. */
const char *cg_module_base(int m);
extern int cg_mod_count;          /* slots ever used (high-water mark), published with release */

int cg_module_of_slow(uintptr_t addr, unsigned int gen);

/* Several threads may compute and store `watched` at once (the same value): atomic accesses. */
static inline int cg_watched(int m)
{
    return __atomic_load_n(&cg_mod(m)->watched, __ATOMIC_RELAXED);
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

/* The party a call from `ra` is made for, found as attribution finds a caller: the first user module
 * on the stack (past carriers and NVIDIA libraries); CG_MOD_ANON when the call comes from code in no
 * module; CG_MOD_UNNAMED when no user module can be found on the stack; -1 when the walk reached libc
 * or the loader first (exit handlers, destructors: nobody's use). */
int cg_party_of(const void *ra);

/* Classification by file name alone (exposed for tests). */
int cg_classify_path(const char *path);

/* Whether code at `caller` lies in ctxguard's own loader namespace (dlmopen), so that glibc loads a
 * file for ctxguard where it would for the caller. */
int cg_modules_same_namespace(const void *caller);
/* dlopen returned `handle`: the object's own dependency scope can be searched through it
 * (track/lm_index.h) until a dlclose unloads it. Takes mod_lock; asks the loader nothing under it. */
void cg_modules_note_opened(void *handle);
/* Forgets every handle kept and every cached function (a dlclose unloaded objects ctxguard was not
 * told of). */
void cg_modules_forget_opened(void);

/* A dlclose through ctxguard, from before the real one until the table is revalidated after it. In
 * between, an object may be gone while its slot still claims its addresses and link map, and the
 * loader may already have put another object there (another thread loading): what the slot caches
 * (its real functions, pointing into a runtime that may be unloaded too) cannot be trusted. So the
 * generation is bumped at both ends (every thread's cached module and fast path are dropped), and
 * while a dlclose is under way real functions are looked up afresh and no fast path is armed. */
void cg_modules_closing_begin(void);
void cg_modules_closing_end(void);
/* ctxguard's own dlclose of a handle it took (dlopen RTLD_NOLOAD) to look something up: its
 * reference may be the last one (the program closed its own meanwhile, in another thread), and then
 * the object is unloaded here. So it runs in the same window as the program's dlclose, followed by
 * the same revalidation when the loader counts an unload. */
void cg_modules_own_dlclose(void *h);
static inline int cg_modules_closing(void)
{
    return __atomic_load_n(&cg_lmx_closing_now, __ATOMIC_SEQ_CST) != 0;
}

/* After a dlclose: free the slots of objects that are gone. */
void cg_modules_revalidate(void);

/* Told (under mod_lock) when a slot is freed (its module was unloaded), so that other tables forget
 * what they keep for it: a registration (made by init.c), because those tables live in files that
 * use this one. */
typedef void (*cg_module_freed_fn)(int m);
void cg_modules_on_freed(cg_module_freed_fn f);

/* The listeners init.c registers. */
void cg_state_forget_module(int m);
void cg_resolve_forget_module(int m);

#pragma GCC visibility pop

#endif
