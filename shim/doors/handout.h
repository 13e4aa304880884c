/* Pointers handed out by a lookup (dlsym on a CUDA handle, cuGetProcAddress, the runtime's
 * entry-point queries): the real one is recorded (track/resolve.c) and ctxguard's wrapper is handed
 * out in its place. */
#ifndef CTXGUARD_HANDOUT_H
#define CTXGUARD_HANDOUT_H

#include "core/hooks.h"
#include "track/modules.h"

#pragma GCC visibility push(hidden)

/* Whether module m's driver lookup of variant `id` gets the real pointer back: NVIDIA's libraries get
 * the real tracked and checked rows (CG_DRV_UNWRAPPED_FOR), except that those other than the shared
 * runtime get the wrapped frees and destroys. A math library that frees a module's allocation through
 * the driver (cuBLAS and others reach it through their static runtime) would otherwise leave a record
 * behind, and its own unrecorded allocation at that address (a workspace) would not drop it: the
 * module's reclaim then freed the library's memory (issue 15's review, rev15). The shared runtime's
 * driver frees happen under its own tracked calls, already seen at the runtime door. */
static inline int cg_drv_unwrapped_for(int id, int m)
{
    if (m <= 0 || !CG_DRV_UNWRAPPED_FOR(id, cg_mod(m)->cls))
        return 0;
    return !cg_drv_frees[id] || cg_mod(m)->is_cudart;
}


/* Each returns what the caller should receive: ctxguard's wrapper when the name is interposed and the
 * real pointer was recorded, else `real` itself. */
void *cg_wrap_driver_exact(int drv_id, void *real);                         /* dlsym(libcuda, "cuX_v2") */
void *cg_wrap_driver_versioned(const char *base, int version, void *real); /* cuGetProcAddress */
void *cg_wrap_runtime_exact(int rt_id, void *real);                         /* dlsym(libcudart, "cudaX") */

#pragma GCC visibility pop

#endif
