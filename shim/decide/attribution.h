/* Failure attribution (attribution.c). */
#ifndef CTXGUARD_ATTRIBUTION_H
#define CTXGUARD_ATTRIBUTION_H

/* Everything declared here is internal: hidden declarations let hot globals be read with one
 * rip-relative load instead of a GOT load first. */
#pragma GCC visibility push(hidden)

/* A wrapped runtime call `id` returned `result` != 0: explain it if it is a context-lost error after a
 * real reset of the device's primary context. Returns `result` unchanged. */
int cg_rt_failed(int id, int result, const void *ra) __attribute__((noinline));
/* The same for a checked driver call `id` (hooks.def's CHECK rows) that returned the CUresult `result`
 * != 0, made by the module at `ra` (a static runtime: its plugin). Calls bound straight from NVIDIA's
 * libraries are left to the runtime door. Returns `result` unchanged. */
int cg_drv_failed(int id, int result, const void *ra) __attribute__((noinline, cold));
/* Module m retained dev's primary context again: if it used that context before someone else reset
 * it, say so now (once): the module's later failures have that cause. Static runtimes' failing calls
 * are invisible to ctxguard, but their re-attach after a reset is not. */
void cg_note_reattach(int dev, int m) __attribute__((noinline));
/* In a forked child: nothing explained yet (its log is its own). */
void cg_attribution_after_fork_child(void);

#pragma GCC visibility pop

#endif
