/* Failure attribution (attribution.c). */
#ifndef CTXGUARD_ATTRIBUTION_H
#define CTXGUARD_ATTRIBUTION_H

/* A wrapped runtime call `id` returned `result` != 0: explain it if it is a context-lost error after a
 * real reset of the device's primary context. Returns `result` unchanged. */
int cg_rt_failed(int id, int result, const void *ra) __attribute__((noinline));
extern int cg_attributed;

#endif
