/* Process-wide state every layer reads: readiness, configuration, the per-thread record. */
#ifndef CTXGUARD_CORE_H
#define CTXGUARD_CORE_H

#include <pthread.h>

#include "core/config.h"
#include "core/hooks.h"
#include "core/libdl.h"
#include "core/locks.h"

/* Everything declared here is internal: hidden declarations let hot globals be read with one
 * rip-relative load instead of a GOT load first. */
#pragma GCC visibility push(hidden)

#define CG_LIKELY(x) __builtin_expect(!!(x), 1)
#define CG_UNLIKELY(x) __builtin_expect(!!(x), 0)
#define CG_HIDDEN __attribute__((visibility("hidden")))

struct cg_res_rec;

/* Per-thread record. initial-exec TLS: a preloaded object gets static TLS, so each access is one
 * %fs-relative load, with no __tls_get_addr call on the hot path. */
struct cg_tls {
    /* The fast path reads only the first cache line: the module range, the arming generation, the
     * device, and the slots of the five hottest calls (hooks.def lists them first). */
    unsigned long mod_lo, mod_span; /* last module the thread called from: [lo, lo+span) */
    unsigned int fast_gen;          /* == cg_mod_gen when the fast path may be taken: the module's
                                       use of this thread's device is recorded and logging is not
                                       at debug; 0 otherwise */
    int dev;                        /* runtime device selected on this thread; -1: none seen */
    /* The fast path's table, valid while fast_gen is: per runtime entry point, the module's real
     * function, or (not resolved yet) the wrapper's lazy entry, which a jump reaches with the
     * caller's return address still on the stack; NULL only where the wrapper calls and checks. */
    void *rt_tab[CG_RT_COUNT];
    unsigned int mod_gen;           /* module-table generation the cached range belongs to */
    int mod;                        /* its index */
    int mod_user;                   /* its index when its class is CG_MOD_USER, else 0 (resource
                                       records need no lookup: one load gives both) */
    const void *slow_ra;            /* return address handed from a wrapper to its slow path */
    /* modules are kept here as tags (track/modules.h, cg_mod_tag): slot and generation */
    int switch_mod, switch_from;    /* the module that last moved this thread to another device, and from where */
    int ctx_switch_mod;             /* the module that made one of its own (created) contexts current … */
    void *ctx_switch_ctx;           /* … that context … */
    const char *ctx_switch_call;    /* … and how (cuCtxCreate, cuCtxPushCurrent, cuCtxSetCurrent) */
    int used_mod[8], used_dev[8];   /* the device each recent module last used on this thread */
    int used_last, used_last_dev;   /* the entry written last (a shortcut for the same module again) */
    void *cur_ctx;                  /* last context this thread made current through ctxguard, …  */
    unsigned int cur_ctx_gen;       /* … valid while cg_ctx_gen is unchanged */
    int depth;                      /* >0 while ctxguard itself is working: hooks pass through */
    int judged;                     /* a runtime reset was judged: its driver calls are not judged again */
    int via;                        /* a runtime's own wrapper (k+1) hands its call to the slow path */
    int res_depth;                  /* >0 inside a tracked runtime call (cudaMalloc…): the driver calls
                                       it makes underneath are the same object, not recorded again */
    struct cg_res_rec *res_spare;   /* the record of this thread's last free, for its next allocation
                                       (track/resources.h): a pair takes no free-list step. NULL until
                                       the exit hook is registered, then a record or CG_RES_NO_SPARE */
    int res_keyed;                  /* registering the thread-exit hook that returns the spare was tried */
};
extern __thread struct cg_tls cg_tls __attribute__((tls_model("initial-exec"), aligned(64)));

/* Process-wide state, defined in core/globals.c, written only by init.c's one-time initialisation. */
extern int cg_ready;                /* set (release) once cg_init has run */
extern int cg_log_all;              /* CTXGUARD_LOG_LEVEL=debug: every intercepted call is logged */
extern struct cg_config cg_cfg;     /* read-only after cg_init */

/* Lazy one-time initialisation (init.c). Only the entry points (doors/) call it: lower layers run
 * inside an entry point, after it, and never start initialisation themselves. */
void cg_init_slow(void);
static inline void cg_init(void)
{
    if (CG_UNLIKELY(!__atomic_load_n(&cg_ready, __ATOMIC_ACQUIRE)))
        cg_init_slow();
}

#pragma GCC visibility pop

#endif
