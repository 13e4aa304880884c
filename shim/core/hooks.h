/* Generated views of hooks.def: ids, typed function-pointer types, name tables. */
#ifndef CTXGUARD_HOOKS_H
#define CTXGUARD_HOOKS_H

#include <string.h>

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
/* 1 for the CG_DRVT rows (allocations, streams, events): handed out wrapped to modules, but as they
 * are to NVIDIA's libraries, whose own objects are not a module's and whose runtime calls are
 * tracked at the runtime door already (and a shared runtime's cudaMalloc then crosses one wrapper,
 * not two). */
extern const unsigned char cg_drv_tracked[CG_DRV_COUNT];
/* 1 for the rows handed out wrapped to modules only: the tracked rows and the CHECK rows (copies,
 * launches: a shared runtime's failure is explained at the runtime door, not a second time at its
 * driver call, and its hot driver calls cross no wrapper). */
extern const unsigned char cg_drv_modules_only[CG_DRV_COUNT];
/* 1 for the tracked frees and destroys (cuMemFree_v2, cuStreamDestroy_v2, …). */
extern const unsigned char cg_drv_frees[CG_DRV_COUNT];
/* Whether a driver lookup by module class `cls` of variant `id` gets the real pointer back (see
 * doors/handout.h cg_drv_unwrapped_for for the exception of the frees). */
#define CG_DRV_UNWRAPPED_FOR(id, cls) ((id) >= 0 && cg_drv_modules_only[(id)] && (cls) == CG_MOD_NVIDIA)

/* Lookup by exact exported name; -1 when not interposed. */
int cg_rt_id_of(const char *name);
int cg_drv_id_of(const char *name);
/* A cheap first filter for lookups by name: 0 means the name is certainly not one ctxguard wraps
 * (most lookups: cuModule…, cuFunc…, cuGraph…, cuOccupancy…), so the caller may skip the table
 * search. The guarded bases are cuCtx*, cuDevicePrimaryCtx*, cuGetProcAddress; the tracked ones
 * cuMemAlloc*, cuMemFree*, cuMemHostAlloc, cuStreamCreate*, cuStreamDestroy, cuEventCreate,
 * cuEventDestroy, cuArrayDestroy; the checked ones cuMemcpy*, cuMemset*, cuLaunchKernel*, cuStreamSynchronize (and
 * cuCtxSynchronize, a cuCtx name). */
static inline __attribute__((always_inline)) int cg_maybe_guarded_base(const char *s)
{
    if (s[0] != 'c' || s[1] != 'u')
        return 0;
    /* One bit test rejects most names: the wrapped ones have 'A', 'C', 'D', 'E', 'G', 'L', 'M' or 'S' third;
     * the bit is picked by the character's low six bits (bytes that alias one, such as 0xC3, are
     * rejected by the characters after). */
    unsigned char c = (unsigned char)s[2];
#define CG_GUARDED_THIRD(ch) (1ull << ((ch) & 63))
    if (!((CG_GUARDED_THIRD('A') | CG_GUARDED_THIRD('C') | CG_GUARDED_THIRD('D') | CG_GUARDED_THIRD('E') |
           CG_GUARDED_THIRD('G') | CG_GUARDED_THIRD('L') | CG_GUARDED_THIRD('M') | CG_GUARDED_THIRD('S')) >> (c & 63) & 1))
        return 0;
    /* character by character (&& stops at the terminator): no call, so wrappers need no frame */
    switch (c) {
    case 'A': return s[3] == 'r' && s[4] == 'r' && s[5] == 'a' && s[6] == 'y' && s[7] == 'D';
    case 'C': return s[3] == 't' && s[4] == 'x';
    case 'D': return s[3] == 'e' && s[4] == 'v' && s[5] == 'i' && s[6] == 'c' && s[7] == 'e' && s[8] == 'P';
    case 'G': return s[3] == 'e' && s[4] == 't' && s[5] == 'P';
    case 'L': return s[3] == 'a' && s[4] == 'u' && s[5] == 'n' && s[6] == 'c' && s[7] == 'h' && s[8] == 'K';
    case 'M': return s[3] == 'e' && s[4] == 'm' && (s[5] == 'A' || s[5] == 'F' || s[5] == 'H' || s[5] == 'c' || s[5] == 's');
    case 'S': return s[3] == 't' && s[4] == 'r' && s[5] == 'e' && s[6] == 'a' && s[7] == 'm' &&
                     (s[8] == 'C' || s[8] == 'D' || s[8] == 'S');
    case 'E': return s[3] == 'v' && s[4] == 'e' && s[5] == 'n' && s[6] == 't' && (s[7] == 'C' || s[7] == 'D');
    default: return 0;
    }
#undef CG_GUARDED_THIRD
}

/* Wrapped bases whose per-thread-default-stream variants (_ptds/_ptsz) cuGetProcAddress hands out
 * under CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM: ctxguard wraps the legacy-stream variant, and
 * the _ptsz one only where a row names it (cg_drv_ptsz_variant: the tracked allocators and frees).
 * The tracked asynchronous allocations and frees; every copy, set and launch; cuStreamSynchronize
 * (cudaTypedefs.h: __API_TYPEDEF_PTDS/_PTSZ). */
static inline int cg_has_ptsz_variant(const char *s)
{
    if (s[0] != 'c' || s[1] != 'u')
        return 0;
    if (strncmp(s + 2, "Memcpy", 6) == 0 || strncmp(s + 2, "Memset", 6) == 0 ||
        strncmp(s + 2, "LaunchKernel", 12) == 0 || strcmp(s + 2, "StreamSynchronize") == 0)
        return 1;
    return s[2] == 'M' && s[3] == 'e' && s[4] == 'm' && (s[5] == 'A' || s[5] == 'F') && s[6] != 0 &&
           strstr(s, "Async") != NULL;
}

/* The rule group of an interposed call (hooks.def's kind and group columns): 0 none, CG_GROUP_RESET
 * (@reset), CG_GROUP_DESTROY (@destroy); -1 when the name is not an interposed call. */
enum { CG_GROUP_NONE = 0, CG_GROUP_RESET = 1, CG_GROUP_DESTROY = 2 };
int cg_hook_group(const char *name);

/* The variant cuGetProcAddress(base, version) maps to; -1 when ctxguard does not wrap it. */
int cg_drv_variant_for(const char *base, int version);
/* The variant cuGetProcAddress hands out for `base` under CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM
 * when ctxguard wraps it (the row named base_ptsz: the tracked stream-ordered allocators and frees);
 * -1: passed through. */
int cg_drv_ptsz_variant(const char *base);

#pragma GCC visibility pop

#endif
