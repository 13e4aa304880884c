/* Pointers handed out by a lookup (dlsym on a CUDA handle, cuGetProcAddress, the runtime's
 * entry-point queries): the real one is recorded (track/resolve.c) and ctxguard's wrapper is handed
 * out in its place. */
#ifndef CTXGUARD_HANDOUT_H
#define CTXGUARD_HANDOUT_H

#pragma GCC visibility push(hidden)

/* Each returns what the caller should receive: ctxguard's wrapper when the name is interposed and the
 * real pointer was recorded, else `real` itself. */
void *cg_wrap_driver_exact(int drv_id, void *real);                         /* dlsym(libcuda, "cuX_v2") */
void *cg_wrap_driver_versioned(const char *base, int version, void *real); /* cuGetProcAddress */
void *cg_wrap_runtime_exact(int rt_id, void *real);                         /* dlsym(libcudart, "cudaX") */

#pragma GCC visibility pop

#endif
