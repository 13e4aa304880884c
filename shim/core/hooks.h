/* Generated views of hooks.def: ids, typed function-pointer types, name tables. */
#ifndef CTXGUARD_HOOKS_H
#define CTXGUARD_HOOKS_H

#include "core/cuda_abi.h"

/* Everything declared here is internal: hidden declarations let hot globals be read with one
 * rip-relative load instead of a GOT load first. */
#pragma GCC visibility push(hidden)

#define CG_EXPORT __attribute__((visibility("default")))

enum cg_rt_id {
#define CG_RT(name, params, args, kind) CG_RT_ID_##name,
#include "core/hooks.def"
    CG_RT_COUNT
};

enum cg_drv_id {
#define CG_DRV(name, base, since, kind, group, params, args) CG_DRV_ID_##name,
#include "core/hooks.def"
    CG_DRV_COUNT
};

#define CG_RT(name, params, args, kind) typedef cudaError_t (*cg_rt_fn_##name) params;
#include "core/hooks.def"
#define CG_DRV(name, base, since, kind, group, params, args) typedef CUresult (*cg_drv_fn_##name) params;
#include "core/hooks.def"

/* Prototypes of the exported wrappers, so that tables can take their addresses. */
#define CG_RT(name, params, args, kind) CG_EXPORT cudaError_t name params;
#include "core/hooks.def"
#define CG_DRV(name, base, since, kind, group, params, args) CG_EXPORT CUresult name params;
#include "core/hooks.def"

struct cg_drv_info {
    const char *name; /* exported variant name */
    const char *base; /* name asked of cuGetProcAddress */
    int since;        /* lowest cudaVersion mapping to this variant */
};

extern const char *const cg_rt_names[CG_RT_COUNT];
/* Runtimes reached through dlsym on their own handles (ctypes, TensorFlow): each gets wrappers of its
 * own (doors/rt_hooks.c), which call that runtime's functions, whoever the caller is. */
#define CG_HANDED_RUNTIMES 8
extern const struct cg_drv_info cg_drv_info[CG_DRV_COUNT];

/* Lookup by exact exported name; -1 when not interposed. */
int cg_rt_id_of(const char *name);
int cg_drv_id_of(const char *name);
/* A cheap first filter for lookups by name: 0 means the name is certainly not one ctxguard wraps
 * (most lookups: cuMemAlloc, cuLaunchKernel, …), so the caller may skip the table search. The
 * guarded bases are cuCtx*, cuDevicePrimaryCtx*, cuGetProcAddress. */
static inline int cg_maybe_guarded_base(const char *s)
{
    if (s[0] != 'c' || s[1] != 'u')
        return 0;
    /* One range test rejects most names (cuMem…, cuLaunch…, cuStream…, cuModule…): the guarded ones
     * have 'C', 'D' or 'G' third. */
    unsigned int c = (unsigned char)s[2] - (unsigned char)'C';
    if (c > 'G' - 'C')
        return 0;
    /* switch on the offset already computed (no second copy of s[2]); character by character
     * (&& stops at the terminator): no call, so wrappers need no frame */
    switch (c) {
    case 'C' - 'C': return s[3] == 't' && s[4] == 'x';
    case 'D' - 'C': return s[3] == 'e' && s[4] == 'v' && s[5] == 'i' && s[6] == 'c' && s[7] == 'e' && s[8] == 'P';
    case 'G' - 'C': return s[3] == 'e' && s[4] == 't' && s[5] == 'P';
    default: return 0;
    }
}

/* The rule group of an interposed call (hooks.def's kind and group columns): 0 none, CG_GROUP_RESET
 * (@reset), CG_GROUP_DESTROY (@destroy); -1 when the name is not an interposed call. */
enum { CG_GROUP_NONE = 0, CG_GROUP_RESET = 1, CG_GROUP_DESTROY = 2 };
int cg_hook_group(const char *name);

/* The variant cuGetProcAddress(base, version) maps to; -1 when ctxguard does not wrap it. */
int cg_drv_variant_for(const char *base, int version);

#pragma GCC visibility pop

#endif
