/* The reclaim action: a blocked reset gives the resetting module the clean slate it asked for (its
 * own memory, streams and events gone) without touching anything another module made. Modules and
 * kernels are never unloaded: the caller's runtime would not load them again. */
#include "decide/reclaim.h"

#include "core/hooks.h"
#include "track/modules.h"
#include "track/resolve.h"
#include "track/resources.h"
#include "track/state.h"

typedef int (*free_fn)(void *); /* every free and destroy takes one handle, returns an error code */

/* Whether runtime slot k still holds a runtime: an unloaded runtime's slot is emptied (resolve.c),
 * and nothing is freed through it then. */
static int via_slot_live(int k)
{
    for (int id = 0; id < CG_RT_COUNT; id++)
        if (__atomic_load_n(&cg_rt_via[k][id], __ATOMIC_ACQUIRE) != NULL)
            return 1;
    return 0;
}

/* The function that frees a record: the door it came through, and for the runtime, the runtime it
 * was allocated through (a runtime reached through dlsym on its own handle: that one; else the
 * module's own, from its dependency scope), so that runtime's bookkeeping stays right. */
static free_fn free_function(const struct cg_res_rec *r, int m)
{
    static const int rt[CG_RES_NTYPES] = {CG_RT_ID_cudaFree, CG_RT_ID_cudaFreeArray, CG_RT_ID_cudaFreeHost,
                                          CG_RT_ID_cudaStreamDestroy, CG_RT_ID_cudaEventDestroy};
    static const int drv[CG_RES_NTYPES] = {CG_DRV_ID_cuMemFree_v2, CG_DRV_ID_cuArrayDestroy, CG_DRV_ID_cuMemFreeHost,
                                           CG_DRV_ID_cuStreamDestroy_v2, CG_DRV_ID_cuEventDestroy_v2};
    if (r->type >= CG_RES_NTYPES)
        return NULL;
    if (r->door == CG_RES_RUNTIME)
        return (free_fn)cg_rt_real_for(m, rt[r->type]);
    if (r->door >= CG_RES_VIA && r->door < CG_RES_VIA + CG_HANDED_RUNTIMES) {
        int k = r->door - CG_RES_VIA;
        return via_slot_live(k) ? (free_fn)cg_rt_via_real(k, rt[r->type]) : NULL;
    }
    return (free_fn)cg_drv_real_for(drv[r->type], NULL);
}

#define CANNOT_FREE                                                                                  \
    "reclaim carried out as a block: the context is not current on this thread, and ctxguard never "    \
    "makes a context current of its own accord; nothing was freed"

/* Records are claimed a batch at a time (a bounded stack, whatever the count): claimed, they stay in
 * the table, so that a free of one of them by another thread of the module while the reclaim frees
 * it is left to the reclaim (the object is freed once, and its address is not handed to another
 * module before the reclaim's free). Streams and events first: nothing the module queued may still
 * refer to its memory. A batch that comes back short was the last one. */
#define BATCH 32

static void reclaim(struct cg_event *ev, int dev, unsigned int gen)
{
    struct cg_res_claim c[BATCH];
    cg_tls.depth++; /* ctxguard's own calls: every wrapper they cross passes them through */
    for (int handles = 1; handles >= 0; handles--) {
        int n;
        do {
            n = cg_res_claim(ev->caller, dev, gen, handles, c, BATCH);
            for (int i = 0; i < n; i++) {
                free_fn f = free_function(&c[i].v, ev->caller);
                /* a failure means the object was already gone (freed through a door ctxguard does
                 * not see): it is not counted as reclaimed */
                if (f && f((void *)c[i].v.key) == CG_SUCCESS) {
                    cg_res_counts_add(&ev->res, &c[i].v);
                    cg_res_unclaim_freed(c[i].rec); /* a tombstone: see CG_RES_TOMB */
                } else {
                    cg_res_unclaim(c[i].rec);
                }
            }
        } while (n == BATCH);
    }
    cg_tls.depth--;
}

static int context_current(const struct cg_event *ev)
{
    if (ev->api == CG_API_RUNTIME)
        return 1;
    struct cg_ctxinfo ci;
    cg_tls.depth++;
    cg_query_current(&ci);
    cg_tls.depth--;
    return ci.ctx != NULL && ci.ctx == ev->ctx;
}

void cg_block_resources(struct cg_event *ev)
{
    if (ev->ctx_kind == CG_CTX_CREATED || ev->device < 0 || ev->caller <= 0) {
        if (ev->action == CG_RECLAIM)
            ev->action = CG_BLOCK; /* only a primary context's records are kept per incarnation */
        return;
    }
    int dev = cg_dev_index(ev->device);
    unsigned int gen = cg_ctx_gen_of(dev);
    if (ev->action == CG_RECLAIM && !context_current(ev)) {
        ev->action = CG_BLOCK;
        ev->reason = CANNOT_FREE; /* the rule's or preset's reason gives way to why nothing was freed */
    }
    if (ev->action == CG_RECLAIM) {
        reclaim(ev, dev, gen);
        ev->res_report = CG_RES_RECLAIMED;
        return;
    }
    cg_res_count(ev->caller, dev, gen, &ev->res, 1);
    ev->res_report = CG_RES_LEFT;
    cg_res_note_blocked(ev->caller);
}
