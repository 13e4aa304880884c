/* ctxguard's locks, all in one registry. The fork handlers (init.c) take every one of them in the
 * order below and release them in reverse, so a child never starts with a lock held by a thread that
 * does not exist in it. No path holds two of them at once, and none asks the loader while holding one
 * (a thread inside dlopen holds the loader's lock while constructors call CUDA). */
#ifndef CTXGUARD_LOCKS_H
#define CTXGUARD_LOCKS_H

#include <pthread.h>

#pragma GCC visibility push(hidden)

enum cg_lock_id {
    CG_LOCK_RESOLVE,     /* track/resolve.c: the driver-query table */
    CG_LOCK_MODULES,     /* track/modules.c: inserting and freeing module slots */
    CG_LOCK_CONTEXTS,    /* track/state.c: created contexts, the last reset of each device */
    CG_LOCK_SUMMARY,     /* report/summary.c: new summary rows */
    CG_LOCK_ATTRIBUTION, /* decide/attribution.c: failures already explained */
    CG_LOCK_COUNT
};

extern pthread_mutex_t cg_locks[CG_LOCK_COUNT];

/* The names the layers use. */
#define cg_resolve_lock (cg_locks[CG_LOCK_RESOLVE])
#define cg_mod_lock (cg_locks[CG_LOCK_MODULES])
#define cg_created_lock (cg_locks[CG_LOCK_CONTEXTS])
#define cg_summary_lock (cg_locks[CG_LOCK_SUMMARY])
#define cg_attribution_lock (cg_locks[CG_LOCK_ATTRIBUTION])

/* pthread_atfork handlers: take all (in registry order), release all (in reverse). */
void cg_locks_take_all(void);
void cg_locks_release_all(void);

#pragma GCC visibility pop

#endif
