/* A module that uses six runtime functions (tests/bench/by_name.c): each one's first call from a new
 * module is a first sight of its own for ctxguard (the real function is looked up per module). */
#include <cuda_runtime_api.h>

__attribute__((visibility("default"))) int tiny_call(void)
{
    int d = -1, n = 0;
    cudaEvent_t e;
    int r = cudaGetDevice(&d);
    r |= cudaGetDeviceCount(&n);
    r |= cudaSetDevice(0);
    r |= cudaDeviceSynchronize();
    r |= cudaEventCreate(&e);
    r |= cudaEventDestroy(e);
    return r ? r : d; /* not a tail call: the runtime sees this module as the caller */
}
