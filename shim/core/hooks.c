/* Name tables and lookups generated from hooks.def. Names only: the wrappers' addresses live with the
 * wrappers (doors/), so nothing here reaches up into them. */
#include <stdio.h>
#include <string.h>

#include "core/hooks.h"

const char *const cg_rt_names[CG_RT_COUNT] = {
#define CG_RT(name, params, args, kind) #name,
#include "core/hooks.def"
};

const struct cg_drv_info cg_drv_info[CG_DRV_COUNT] = {
#define CG_DRV(name, base, since, kind, group, params, args) {#name, #base, since},
#include "core/hooks.def"
};

const unsigned char cg_drv_tracked[CG_DRV_COUNT] = {
#define CG_DRV(name, base, since, kind, group, params, args) 0,
#define CG_DRVT(name, base, since, params, args, kind, res, handle, bytes) 1,
#include "core/hooks.def"
};

/* The tracked frees and destroys (kind FREE or DESTROY of a CG_DRVT row). */
#define CG_DRV_FREES_ALLOC 0
#define CG_DRV_FREES_CREATE 0
#define CG_DRV_FREES_FREE 1
#define CG_DRV_FREES_DESTROY 1
const unsigned char cg_drv_frees[CG_DRV_COUNT] = {
#define CG_DRV(name, base, since, kind, group, params, args) 0,
#define CG_DRVT(name, base, since, params, args, kind, res, handle, bytes) CG_DRV_FREES_##kind,
#include "core/hooks.def"
};

#define CG_MODULES_ONLY_PROC 0
#define CG_MODULES_ONLY_PROC2 0
#define CG_MODULES_ONLY_RETAIN 0
#define CG_MODULES_ONLY_RELEASE 0
#define CG_MODULES_ONLY_RESET 0
#define CG_MODULES_ONLY_FLAGS 0
#define CG_MODULES_ONLY_CREATE 0
#define CG_MODULES_ONLY_DESTROY 0
#define CG_MODULES_ONLY_CURRENT 0
#define CG_MODULES_ONLY_POP 0
#define CG_MODULES_ONLY_TRACKED 1
#define CG_MODULES_ONLY_CHECK 1
const unsigned char cg_drv_modules_only[CG_DRV_COUNT] = {
#define CG_DRV(name, base, since, kind, group, params, args) CG_MODULES_ONLY_##kind,
#include "core/hooks.def"
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

int cg_drv_ptsz_variant(const char *base)
{
    char name[64];
    int n = snprintf(name, sizeof name, "%s_ptsz", base);
    return n > 0 && (size_t)n < sizeof name ? cg_drv_id_of(name) : -1;
}

/* Rule groups: from the kind column of runtime rows and the group column of driver rows. */
#define CG_GROUP_OF_RT_USE 0
#define CG_GROUP_OF_RT_PASS 0
#define CG_GROUP_OF_RT_SETDEV 0
#define CG_GROUP_OF_RT_ENTRY 0
#define CG_GROUP_OF_RT_ENTRYV 0
#define CG_GROUP_OF_RT_RESET CG_GROUP_RESET
#define CG_GROUP_OF_RT_ALLOC 0
#define CG_GROUP_OF_RT_FREE 0
#define CG_GROUP_OF_RT_CREATE 0
#define CG_GROUP_OF_RT_DESTROY 0
#define CG_GROUP_OF_DRV_NONE 0
#define CG_GROUP_OF_DRV_RESET CG_GROUP_RESET
#define CG_GROUP_OF_DRV_DESTROY CG_GROUP_DESTROY
static const struct {
    const char *name;
    int group;
} groups[] = {
#define CG_RT(name, params, args, kind) {#name, CG_GROUP_OF_RT_##kind},
#define CG_DRV(name, base, since, kind, group, params, args) {#name, CG_GROUP_OF_DRV_##group},
#include "core/hooks.def"
};

int cg_hook_group(const char *name)
{
    for (size_t i = 0; i < sizeof groups / sizeof groups[0]; i++)
        if (strcmp(groups[i].name, name) == 0)
            return groups[i].group;
    return -1;
}
