/* Calls one intercepted entry point in a loop. Used two ways by scripts/bench.sh:
 *   bench_calls CALL N             run N calls (callgrind counts instructions of N1 vs N2 calls)
 *   bench_calls CALL N THREADS     also print ns per call (wall clock), THREADS threads in parallel
 * CALL: setdevice | getdevice | sync | entrypoint | drvsetcurrent | reset | none
 * stderr gets "first_ns=…" (the process's first CUDA call, where one-time set-up lands) and
 * "rss_kb=…" (VmRSS at the end).
 * Built against the fake runtime (CI) or the real one (scripts/gpu-bench.sh). */
#include <cuda.h>
#include <cuda_runtime_api.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *call;
static long n;
static CUresult (*set_current)(CUcontext);
static CUcontext ctx;

static int one(void)
{
    int d;
    void *p;
    if (!strcmp(call, "setdevice")) return cudaSetDevice(0);
    if (!strcmp(call, "getdevice")) return cudaGetDevice(&d);
    if (!strcmp(call, "sync")) return cudaDeviceSynchronize();
    if (!strcmp(call, "entrypoint")) {
        enum cudaDriverEntryPointQueryResult st;
        return cudaGetDriverEntryPoint("cuMemAlloc", &p, 0, &st);
    }
    if (!strcmp(call, "drvsetcurrent")) return set_current(ctx);
    if (!strcmp(call, "reset")) return cudaDeviceReset();
    if (!strcmp(call, "none")) return 0;
    return -1;
}

typedef int (*step_fn)(void);
static step_fn pick(void)
{
    return one;
}

static void *loop(void *arg)
{
    (void)arg;
    step_fn f = pick();
    int bad = 0;
    for (long i = 0; i < n; i++)
        bad |= f();
    return (void *)(long)bad;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s CALL N [THREADS]\n", argv[0]);
        return 2;
    }
    call = argv[1];
    n = atol(argv[2]);
    int threads = argc > 3 ? atoi(argv[3]) : 0;
    /* set-up outside the measured calls: runtime initialised, driver pointer obtained */
    struct timespec f0, f1;
    clock_gettime(CLOCK_MONOTONIC, &f0);
    if (cudaSetDevice(0) != 0) {
        fprintf(stderr, "bench: cudaSetDevice failed\n");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &f1);
    fprintf(stderr, "first_ns=%ld\n", (f1.tv_sec - f0.tv_sec) * 1000000000L + (f1.tv_nsec - f0.tv_nsec));
    enum cudaDriverEntryPointQueryResult st;
    if (cudaGetDriverEntryPoint("cuCtxSetCurrent", (void **)&set_current, 0, &st) || !set_current)
        return 1;
    cuCtxGetCurrent(&ctx);
    if (one() != 0) {
        fprintf(stderr, "bench: %s failed\n", call);
        return 1;
    }
    if (threads <= 0) {
        return loop(NULL) != NULL;
    }
    FILE *status = fopen("/proc/self/status", "r");
    char line[256];
    while (status && fgets(line, sizeof line, status))
        if (!strncmp(line, "VmRSS:", 6))
            fprintf(stderr, "rss_kb=%ld\n", atol(line + 6));
    if (status)
        fclose(status);
    pthread_t t[256];
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < threads && i < 256; i++)
        pthread_create(&t[i], NULL, loop, NULL);
    long bad = 0;
    for (int i = 0; i < threads && i < 256; i++) {
        void *r;
        pthread_join(t[i], &r);
        bad |= (long)r;
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double ns = ((double)(b.tv_sec - a.tv_sec) * 1e9 + (double)(b.tv_nsec - a.tv_nsec)) / (double)n;
    printf("%.2f\n", ns); /* ns per call per thread (wall time / calls per thread) */
    return bad != 0;
}
