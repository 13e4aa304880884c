/* Driver entry points that allocate, create, free and destroy (the CG_DRVT rows of hooks.def):
 * pass-through wrappers that keep the per-module resource records (track/resources.c). They matter
 * for a static runtime, whose plugin reaches the driver through the pointers cuGetProcAddress handed
 * out, and for modules calling the driver API themselves. A shared runtime's own driver calls are
 * not recorded: under a tracked runtime call (res_depth) the runtime door has recorded the object
 * already, and outside one they are the runtime's own (its immediate caller is NVIDIA's library). */
#include <stdint.h>

#include "core/hooks.h"
#include "track/modules.h"
#include "track/resolve.h"
#include "track/resources.h"

static __attribute__((noinline)) void *drv_real_slow(int id, const void *ra)
{
    cg_init();
    return cg_drv_real_for(id, ra);
}
#define DRV_REAL(name, ra)                                                                           \
    cg_drv_fn_##name real_ = (cg_drv_fn_##name)__atomic_load_n(&cg_drv_real[CG_DRV_ID_##name], __ATOMIC_RELAXED); \
    if (CG_UNLIKELY(real_ == NULL) && (real_ = (cg_drv_fn_##name)drv_real_slow(CG_DRV_ID_##name, ra)) == NULL) \
        return CG_ERR_SYMBOL_NOT_FOUND;

/* Recorded for the immediate caller only when it is a user module (a static runtime is part of
 * its plugin); looked up without moving the runtime fast path's cached module. */
static __attribute__((noinline)) void drv_add(const void *ra, int type, uintptr_t key, size_t bytes)
{
    int m = cg_module_peek(ra);
    if (m > 0 && cg_mod(m)->cls == CG_MOD_USER)
        cg_res_add(m, 1, type, CG_RES_DRIVER, key, bytes, NULL);
}

#define CG_DRVT_WRAP_ALLOC(name, params, args, res, handle, bytes)                                   \
    CUresult name params                                                                             \
    {                                                                                                \
        const void *ra_ = __builtin_return_address(0);                                               \
        DRV_REAL(name, ra_)                                                                          \
        if (cg_tls.res_depth | cg_tls.depth)                                                         \
            return real_ args; /* recorded at the runtime door, or ctxguard's own */                 \
        CUresult r_ = real_ args;                                                                    \
        if (CG_LIKELY(r_ == CG_SUCCESS))                                                             \
            drv_add(ra_, CG_RES_##res, (uintptr_t)(handle), (bytes));                                \
        return r_;                                                                                   \
    }
/* As the runtime door's frees (rt_hooks.c): the record's head taken inline, else the chain walked;
 * an object a reclaim is freeing is left to it (success); a failed free drops the record too. */
#define CG_DRVT_WRAP_FREE(name, params, args, res, handle, bytes)                                    \
    CUresult name params                                                                             \
    {                                                                                                \
        DRV_REAL(name, __builtin_return_address(0))                                                  \
        if (cg_tls.res_depth | cg_tls.depth)                                                         \
            return real_ args;                                                                       \
        int busy_ = 0, reclaiming_ = 0;                                                              \
        struct cg_res_rec *had_ = cg_res_take_in((uintptr_t)(handle), CG_RES_##res, &busy_);         \
        if (busy_)                                                                                   \
            had_ = cg_res_take_by((uintptr_t)(handle), CG_RES_##res, &reclaiming_,                   \
                                  cg_module_peek(__builtin_return_address(0)));                     \
        if (reclaiming_)                                                                             \
            return CG_SUCCESS;                                                                       \
        CUresult r_ = real_ args;                                                                    \
        if (had_)                                                                                    \
            cg_res_done(had_, 1);                                                                    \
        return r_;                                                                                   \
    }
#define CG_DRVT_WRAP_CREATE CG_DRVT_WRAP_ALLOC
#define CG_DRVT_WRAP_DESTROY CG_DRVT_WRAP_FREE
#define CG_DRVT(name, base, since, params, args, kind, res, handle, bytes)                            \
    CG_DRVT_WRAP_##kind(name, params, args, res, handle, bytes)
#include "core/hooks.def"
