/* Driver entry points that copy, set, launch and synchronise (hooks.def's CHECK rows): a pass-through
 * whose only addition is a look at a failed result. They matter for a static runtime, whose plugin
 * reaches the driver through the pointers cuGetProcAddress handed out: its failing cudaMemcpy is seen
 * here, as the driver call inside that plugin, and explained at the call (decide/attribution.c)
 * rather than only by the plugin's re-attach. A shared runtime never receives these wrappers
 * (CG_DRV_UNWRAPPED_FOR): its failures are explained at the runtime door. */
#include "core/hooks.h"
#include "decide/attribution.h"
#include "track/resolve.h"

/* The real function before any lookup handed it out (a module linked against libcuda itself). */
static __attribute__((noinline, cold)) void *chk_real_slow(int id, const void *ra)
{
    cg_init();
    return cg_drv_real_for(id, ra);
}

/* Success costs the load of the real pointer, the call and one test; a failure leaves through the
 * attribution function, which returns the result unchanged. */
#define CG_DRV_WRAP_CHECK(name, params, args)                                                        \
    CUresult name params                                                                             \
    {                                                                                                \
        cg_drv_fn_##name real_ =                                                                     \
            (cg_drv_fn_##name)__atomic_load_n(&cg_drv_real[CG_DRV_ID_##name], __ATOMIC_RELAXED);     \
        if (CG_UNLIKELY(real_ == NULL) &&                                                            \
            (real_ = (cg_drv_fn_##name)chk_real_slow(CG_DRV_ID_##name, __builtin_return_address(0))) == NULL) \
            return CG_ERR_SYMBOL_NOT_FOUND;                                                          \
        CUresult r_ = real_ args;                                                                    \
        if (CG_UNLIKELY(r_ != CG_SUCCESS))                                                           \
            return cg_drv_failed(CG_DRV_ID_##name, r_, __builtin_return_address(0));                 \
        return r_;                                                                                   \
    }
#define CG_DRV_WRAP_(kind, name, params, args) CG_DRV_WRAP_##kind(name, params, args)
#define CG_DRV_WRAP_PROC(name, params, args)
#define CG_DRV_WRAP_PROC2(name, params, args)
#define CG_DRV_WRAP_RETAIN(name, params, args)
#define CG_DRV_WRAP_RELEASE(name, params, args)
#define CG_DRV_WRAP_RESET(name, params, args)
#define CG_DRV_WRAP_FLAGS(name, params, args)
#define CG_DRV_WRAP_CREATE(name, params, args)
#define CG_DRV_WRAP_DESTROY(name, params, args)
#define CG_DRV_WRAP_CURRENT(name, params, args)
#define CG_DRV_WRAP_POP(name, params, args)
#define CG_DRV_WRAP_TRACKED(name, params, args)
#define CG_DRV(name, base, since, kind, group, params, args) CG_DRV_WRAP_(kind, name, params, args)
#include "core/hooks.def"
