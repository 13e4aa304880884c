/* NVTX marks for notable events (nvtx.c). */
#ifndef CTXGUARD_NVTX_H
#define CTXGUARD_NVTX_H

#include "log.h"

/* Called for each notable event when CTXGUARD_NVTX=1; loads the NVTX library on first use. */
void cg_nvtx_mark(const struct cg_event *ev);

#endif
