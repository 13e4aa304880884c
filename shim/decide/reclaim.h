/* After a reset is blocked: what the caller leaves behind, or (reclaim) what ctxguard frees for it. */
#ifndef CTXGUARD_RECLAIM_H
#define CTXGUARD_RECLAIM_H

#include "report/log.h"

/* Everything declared here is internal: hidden declarations let hot globals be read with one
 * rip-relative load instead of a GOT load first. */
#pragma GCC visibility push(hidden)

/* ev->action is CG_BLOCK or CG_RECLAIM and pending work is already synchronised. For a primary
 * context (or one treated as primary) of a known device: a reclaim frees ev->caller's own live
 * allocations, streams and events in that context, through the real functions of the door each came
 * through (its own runtime's cudaFree…, or the driver's cuMemFree…), and fills ev->res with what was
 * freed; a block fills ev->res with what the caller still holds there ("left"). A driver-level call
 * on a context that is not the thread's current one (a reset of another device) frees nothing (the
 * runtime makes its device's context current itself; the driver's frees would need it current): a
 * reclaim is then carried out as a block and says so. */
void cg_block_resources(struct cg_event *ev);

#pragma GCC visibility pop

#endif
