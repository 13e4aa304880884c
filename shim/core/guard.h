/* ctxguard's own calls into CUDA (queries of the current context, a sync before answering a blocked
 * reset, the NVTX library, a runtime version query) must pass through ctxguard's hooks untouched: no
 * judging, no use recorded, no logging. A thread-local depth says "ctxguard is working here"; every
 * hook passes through while it is raised. These name the idiom instead of editing the depth by hand. */
#ifndef CTXGUARD_GUARD_H
#define CTXGUARD_GUARD_H

#include "core/core.h"

/* Raise the depth; returns what to restore. */
static inline int cg_own_begin(void)
{
    return cg_tls.depth++;
}

static inline void cg_own_end(int saved)
{
    cg_tls.depth = saved;
}

/* Whether ctxguard itself is the caller (its hooks then pass through). */
static inline int cg_own_active(void)
{
    return cg_tls.depth != 0;
}

/* Runs one statement as ctxguard's own work. */
#define CG_OWN(stmt)                                                                                 \
    do {                                                                                             \
        int cg_own_saved_ = cg_own_begin();                                                          \
        stmt;                                                                                        \
        cg_own_end(cg_own_saved_);                                                                   \
    } while (0)

#endif
