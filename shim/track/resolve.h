/* The one resolver of real functions: runtime ones per calling module, driver ones per process. */
#ifndef CTXGUARD_RESOLVE_H
#define CTXGUARD_RESOLVE_H

#include "doors/hooks.h"
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

/* Real driver entry point (one driver per process). Set when a lookup hands one out, else resolved
 * from the caller's scope on first use. */
extern void *cg_drv_real[CG_DRV_COUNT];
void *cg_drv_resolve(int id, const void *ra);

static inline void *cg_rt_real_for(int m, int id)
{
    void *fn = __atomic_load_n(&cg_mod(m < 0 ? 0 : m)->rt_real[id], __ATOMIC_ACQUIRE);
    return CG_LIKELY(fn != NULL) ? fn : cg_rt_resolve(m < 0 ? 0 : m, id);
}

static inline void *cg_drv_real_for(int id, const void *ra)
{
    void *fn = __atomic_load_n(&cg_drv_real[id], __ATOMIC_ACQUIRE);
    return CG_LIKELY(fn != NULL) ? fn : cg_drv_resolve(id, ra);
}

/* A function ctxguard does not interpose, as module m would find it; not cached (rare use). */
void *cg_resolve_plain(int m, const char *name);

/* Wrapping of pointers handed out by a lookup. Each returns what the caller should receive: a
 * ctxguard wrapper when the name is guarded and the real pointer could be recorded, else `real`. */
void *cg_wrap_driver_exact(int drv_id, void *real);             /* dlsym(libcuda, "cuX_v2") */
void *cg_wrap_driver_versioned(const char *base, int version, void *real); /* cuGetProcAddress */
void *cg_wrap_runtime_exact(int rt_id, void *real);             /* dlsym(libcudart, "cudaX") */
int cg_is_wrapper(const void *p);

/* Side-effect-free driver queries, resolved from the already loaded libcuda; NULL when it is not
 * loaded (then no context can exist). Never loads or initialises anything. */
struct cg_driver_queries {
    CUresult (*ctx_get_current)(CUcontext *);
    CUresult (*ctx_get_device)(CUdevice *);
    CUresult (*ctx_synchronize)(void);
};
const struct cg_driver_queries *cg_driver_queries(void);

#pragma GCC visibility pop

#endif
