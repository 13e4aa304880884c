/* The one resolver of real functions: runtime ones per calling module, driver ones per process. */
#ifndef CTXGUARD_RESOLVE_H
#define CTXGUARD_RESOLVE_H

#include "core/hooks.h"
#include "core/libdl.h"
#include "track/modules.h"

/* Everything declared here is internal: hidden declarations let hot globals be read with one
 * rip-relative load instead of a GOT load first. */
#pragma GCC visibility push(hidden)

/* Real runtime entry point for calls coming from module m: the definition m itself would have
 * reached without ctxguard (its own dependency scope first, so a plugin loaded RTLD_LOCAL reaches
 * its own libcudart, and two runtime versions in one process each reach their own). */
void *cg_rt_resolve(int m, int id); /* kept in cg_mod(m)->rt_real[id] */

/* Pointers a runtime lookup (dlsym(cudart_handle, "cuda…")) handed out: the fallback for callers
 * whose own scope has no runtime. */
extern void *cg_rt_handed[CG_RT_COUNT];

/* Per runtime reached through dlsym on its own handle (slot k of CG_HANDED_RUNTIMES, see
 * cg_wrap_runtime_exact): its real functions, whichever module calls them. */
extern void *cg_rt_via[CG_HANDED_RUNTIMES][CG_RT_COUNT];
void *cg_rt_via_resolve(int k, int id);
extern unsigned int cg_rt_via_epoch[CG_HANDED_RUNTIMES]; /* cg_rt_epoch when row k was cached */
static inline void *cg_rt_via_real(int k, int id)
{
    void *fn = __atomic_load_n(&cg_rt_via[k][id], __ATOMIC_ACQUIRE);
    return CG_LIKELY(fn != NULL) && CG_LIKELY(!cg_modules_closing()) &&
                   __atomic_load_n(&cg_rt_via_epoch[k], __ATOMIC_ACQUIRE) == __atomic_load_n(&cg_rt_epoch, __ATOMIC_ACQUIRE)
               ? fn
               : cg_rt_via_resolve(k, id);
}
/* A function ctxguard does not interpose, as runtime slot k defines it; not cached (rare use). */
void *cg_rt_via_plain(int k, const char *name);

/* Real driver entry point (one driver per process). Set when a lookup hands one out, else resolved
 * from the caller's scope on first use. */
extern void *cg_drv_real[CG_DRV_COUNT];
void *cg_drv_resolve(int id, const void *ra);

/* While a dlclose is under way (cg_modules_closing) the cache is neither read nor written: the
 * runtime it points into may just have been unloaded, and the slot's object replaced. After an
 * unload, what was cached before it is looked up again (cg_rt_cache_current). */
static inline void *cg_rt_real_for(int m, int id)
{
    m = m < 0 ? 0 : m;
    void *fn = __atomic_load_n(&cg_mod(m)->rt_real[id], __ATOMIC_ACQUIRE);
    return CG_LIKELY(fn != NULL) && CG_LIKELY(!cg_modules_closing()) && CG_LIKELY(cg_rt_cache_current(m))
               ? fn
               : cg_rt_resolve(m, id);
}

static inline void *cg_drv_real_for(int id, const void *ra)
{
    void *fn = __atomic_load_n(&cg_drv_real[id], __ATOMIC_ACQUIRE);
    return CG_LIKELY(fn != NULL) ? fn : cg_drv_resolve(id, ra);
}

/* A function ctxguard does not interpose, as module m would find it; not cached (rare use). */
void *cg_resolve_plain(int m, const char *name);

/* Pointers a lookup is about to hand out (doors/handout.c): records `real` as the function behind
 * hook `id`. cg_record_driver returns 1 when it is (the door then hands out its wrapper), 0 when the
 * caller should receive `real` itself (nothing to record, ctxguard's own code, or a second
 * implementation of a driver variant, which is left alone rather than routed to the first).
 * cg_record_runtime returns the runtime's slot k (the door hands out that runtime's own wrapper, so
 * that two runtimes opened through their own handles are never mixed), or CG_RECORD_NOTHING (real
 * itself: nothing to record, or all CG_HANDED_RUNTIMES slots taken, said once). */
#define CG_RECORD_NOTHING (-1)
int cg_record_driver(int drv_id, void *real);
int cg_record_runtime(int rt_id, void *real);

/* Side-effect-free driver queries, resolved from the already loaded libcuda; NULL when it is not
 * loaded (then no context can exist). Never loads or initialises anything. */
struct cg_driver_queries {
    CUresult (*ctx_get_current)(CUcontext *);
    CUresult (*ctx_get_device)(CUdevice *);
    CUresult (*ctx_synchronize)(void);
    CUresult (*pointer_get_attribute)(void *, int, uintptr_t); /* cuPointerGetAttribute */
};
const struct cg_driver_queries *cg_driver_queries(void);

#pragma GCC visibility pop

#endif
