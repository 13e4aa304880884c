/* Name tables and lookups generated from hooks.def. */
#include <string.h>

#include "doors/hooks.h"

const char *const cg_rt_names[CG_RT_COUNT] = {
#define CG_RT(name, params, args, kind) #name,
#include "doors/hooks.def"
};

void *const cg_rt_wrappers[CG_RT_COUNT] = {
#define CG_RT(name, params, args, kind) (void *)name,
#include "doors/hooks.def"
};

const struct cg_drv_info cg_drv_info[CG_DRV_COUNT] = {
#define CG_DRV(name, base, since, params, args) {#name, #base, since, (void *)name},
#include "doors/hooks.def"
};

const unsigned char cg_drv_tracked[CG_DRV_COUNT] = {
#define CG_DRV(name, base, since, params, args) 0,
#define CG_DRVT(name, base, since, params, args, kind, res, handle, bytes) 1,
#include "doors/hooks.def"
};

int cg_rt_id_of(const char *name)
{
    for (int i = 0; i < CG_RT_COUNT; i++)
        if (strcmp(cg_rt_names[i], name) == 0)
            return i;
    return -1;
}

int cg_drv_id_of(const char *name)
{
    for (int i = 0; i < CG_DRV_COUNT; i++)
        if (strcmp(cg_drv_info[i].name, name) == 0)
            return i;
    return -1;
}

int cg_drv_variant_for(const char *base, int version)
{
    int best = -1;
    for (int i = 0; i < CG_DRV_COUNT; i++) {
        if (strcmp(cg_drv_info[i].base, base) != 0 || cg_drv_info[i].since > version)
            continue;
        if (best < 0 || cg_drv_info[i].since > cg_drv_info[best].since)
            best = i;
    }
    return best;
}
