/* The dlsym door (handle lookups) and dlclose (so module attribution never outlives a module). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>

#include "hooks.h"
#include "modules.h"
#include "resolve.h"

#if !defined(__x86_64__)
#error "ctxguard's dlsym entry is written for x86-64 (see dlsym_entry.S)"
#endif

/* Exactly cu[A-Z]… or cuda[A-Z]…: a looser "cu" prefix once caught cuDNN's cudnnCreate. */
static inline int cuda_name(const char *n)
{
    if (n[0] != 'c' || n[1] != 'u')
        return 0;
    if (n[2] >= 'A' && n[2] <= 'Z')
        return 1;
    return n[2] == 'd' && n[3] == 'a' && n[4] >= 'A' && n[4] <= 'Z';
}

/* Reached by tail jump from dlsym, so __builtin_return_address(0) is the original caller's. */
CG_HIDDEN void *cg_dlsym_handle(void *handle, const char *name);
void *cg_dlsym_handle(void *handle, const char *name)
{
    void *r = cg_real_dlsym(handle, name);
    if (r == NULL || name == NULL || CG_LIKELY(!cuda_name(name)) || cg_tls.depth)
        return r;
    /* From here on only CUDA names: rare, so the cost below does not matter. Nothing CUDA is done
     * here, and no lock is taken that a CUDA call could hold. */
    const void *ra = __builtin_return_address(0);
    int m = cg_module_of(ra);
    if (m > 0 && cg_modules[m].cls == CG_MOD_DRIVER)
        return r; /* the driver's own lookups stay untouched */
    if (name[2] == 'd')
        return cg_wrap_runtime_exact(cg_rt_id_of(name), r);
    return cg_wrap_driver_exact(cg_drv_id_of(name), r);
}

CG_EXPORT int dlclose(void *handle);
int dlclose(void *handle)
{
    if (cg_real_dlclose == NULL)
        cg_resolve_real_dlsym();
    if (cg_real_dlclose == NULL)
        return -1;
    int r = cg_real_dlclose(handle);
    if (r == 0 && cg_ready && !cg_tls.depth)
        cg_modules_revalidate();
    return r;
}
