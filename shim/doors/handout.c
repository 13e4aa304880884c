/* The wrappers' addresses, generated from hooks.def, and the hand-out of a wrapper in place of a
 * recorded real pointer. They live here, with the wrappers, so that no lower layer refers to them. */
#include <stddef.h>

#include "core/hooks.h"
#include "doors/handout.h"
#include "track/resolve.h"

static void *const drv_wrappers[CG_DRV_COUNT] = {
#define CG_DRV(name, base, since, kind, group, params, args) [CG_DRV_ID_##name] = (void *)name,
#include "core/hooks.def"
};

void *cg_wrap_driver_exact(int id, void *real)
{
    return cg_record_driver(id, real) ? drv_wrappers[id] : real;
}

void *cg_wrap_driver_versioned(const char *base, int version, void *real)
{
    return cg_wrap_driver_exact(cg_drv_variant_for(base, version), real);
}

/* One wrapper per (runtime, function), generated in rt_hooks.c. */
extern void *const cg_rt_handed_wrappers[CG_HANDED_RUNTIMES][CG_RT_COUNT];

void *cg_wrap_runtime_exact(int id, void *real)
{
    int k = cg_record_runtime(id, real);
    return k == CG_RECORD_NOTHING ? real : cg_rt_handed_wrappers[k][id];
}
