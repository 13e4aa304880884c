/* What cuDevicePrimaryCtxReset does to the primary context's retain count, on the real driver
 * (the fakes model it; docs/gpu-results.md has the answer). Prints one line per step:
 * the call, its result, and cuDevicePrimaryCtxGetState's "active" after it.
 * Build: nvcc -o refcount_probe refcount_probe.c -lcuda (scripts/gpu-test.sh does). */
#include <cuda.h>
#include <stdio.h>

static void state(const char *step, CUresult r)
{
    unsigned int flags = 0;
    int active = -1;
    cuDevicePrimaryCtxGetState(0, &flags, &active);
    printf("%-28s -> %d, active %d\n", step, (int)r, active);
}

int main(void)
{
    CUcontext c1, c2, c3;
    CUdeviceptr p = 0;
    state("cuInit", cuInit(0));
    state("retain (1)", cuDevicePrimaryCtxRetain(&c1, 0));
    state("retain (2)", cuDevicePrimaryCtxRetain(&c2, 0));
    cuCtxSetCurrent(c1);
    state("alloc", cuMemAlloc(&p, 1 << 20));
    state("reset", cuDevicePrimaryCtxReset(0));
    state("retain (3, after reset)", cuDevicePrimaryCtxRetain(&c3, 0));
    cuCtxSetCurrent(c3);
    state("alloc after reset", cuMemAlloc(&p, 1 << 20));
    state("release", cuDevicePrimaryCtxRelease(0));
    state("alloc after 1 release", cuMemAlloc(&p, 1 << 20));
    state("release", cuDevicePrimaryCtxRelease(0));
    state("alloc after 2 releases", cuMemAlloc(&p, 1 << 20));
    state("release", cuDevicePrimaryCtxRelease(0));
    state("release (one too many?)", cuDevicePrimaryCtxRelease(0));
    return 0;
}
