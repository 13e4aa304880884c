/* NVTX marks for notable events (nvtx.c). */
#ifndef CTXGUARD_NVTX_H
#define CTXGUARD_NVTX_H

#include "report/log.h"

/* Everything declared here is internal: hidden declarations let hot globals be read with one
 * rip-relative load instead of a GOT load first. */
#pragma GCC visibility push(hidden)

/* Called for each notable event when CTXGUARD_NVTX=1; loads the NVTX library on first use. */
void cg_nvtx_mark(const struct cg_event *ev);

#pragma GCC visibility pop

#endif
