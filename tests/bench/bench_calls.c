/* Calls one intercepted entry point in a loop. Used two ways by scripts/bench.sh:
 *   bench_calls CALL N             run N calls (callgrind counts instructions of N1 vs N2 calls)
 *   bench_calls CALL N THREADS     also print ns per call (wall clock), THREADS threads in parallel
 *   bench_calls paired CALL BLOCKS K   in one process, alternate blocks of K calls to the function the
 *                                  program is linked to (the preload's wrapper when one is loaded)
 *                                  and to the runtime's own definition (dlvsym: no preload in
 *                                  between), from one loop and one call instruction; prints the
 *                                  median ns per call of each and the median of the paired
 *                                  differences: what the preload adds. Run bare, both targets are the
 *                                  same function: the difference is the method's own error (an A/A
 *                                  test, "same=1").
 *   bench_calls resetpair BLOCKS K     the same for a blocked cudaDeviceReset against the runtime's
 *                                  own cudaDeviceSynchronize (what a blocked reset waits with): the
 *                                  decision and logging alone. Only under CTXGUARD_MODE=enforce.
 * CALL: setdevice | getdevice | sync | entrypoint | drvsetcurrent | drvcheck | reset | dlsym | allocfree | none
 *   (drvcheck: cuStreamSynchronize(NULL) through the pointer cudaGetDriverEntryPoint gave, a CHECK row)
 *   (allocfree: one cudaMalloc of 256 bytes and its cudaFree, a tracked pair)
 * stderr gets "first_ns=…" (the process's first CUDA call, where one-time set-up lands) and
 * "rss_kb=…" (VmRSS at the end).
 * Built against the fake runtime (CI) or the real one (scripts/gpu-bench.sh). */
#define _GNU_SOURCE
#include <cuda.h>
#include <dlfcn.h>
#include <cuda_runtime_api.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char *call;
static long n;
static CUresult (*set_current)(CUcontext);
static CUresult (*stream_sync)(CUstream);
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
        /* a name ctxguard passes through (cuMemAlloc is tracked since issue 15, cuLaunchKernel
         * checked since issue 16: their lookups wrap) */
        return cudaGetDriverEntryPoint("cuFuncGetAttribute", &p, 0, &st);
    }
    if (!strcmp(call, "drvsetcurrent")) return set_current(ctx);
    if (!strcmp(call, "drvcheck")) return stream_sync(NULL); /* a checked driver call (issue 16) */
    if (!strcmp(call, "reset")) return cudaDeviceReset();
    if (!strcmp(call, "dlsym")) { /* a lookup that is not CUDA's: what every other dlsym pays */
        static void *libc;
        if (!libc)
            libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
        return dlsym(libc, "strlen") == NULL;
    }
    if (!strcmp(call, "allocfree")) { /* an allocate+free pair: what resource tracking costs */
        int r = cudaMalloc(&p, 256);
        return r ? r : cudaFree(p);
    }
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
    /* a new thread has no current context: without this, every cudaGetDevice of the thread takes the
     * runtime's slow, serialised no-context path (measured on the H100: 1.1-2.3 us, growing with threads) */
    if (cudaSetDevice(0) != 0)
        return (void *)1L;
    int bad = 0;
    for (long i = 0; i < n; i++)
        bad |= f();
    return (void *)(long)bad;
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_d);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One loop and one call instruction for both paths of the paired measurement: only the target
 * differs. noinline, so both paths run the very same code at the very same address (the return
 * address ctxguard sees, the loop's alignment and the branch history are identical). */
static __attribute__((noinline)) int run_getdev(cudaError_t (*f)(int *), long k)
{
    int bad = 0, dev;
    for (long i = 0; i < k; i++)
        bad |= f(&dev);
    return bad;
}
static __attribute__((noinline)) int run_setdev(cudaError_t (*f)(int), long k)
{
    int bad = 0;
    for (long i = 0; i < k; i++)
        bad |= f(0);
    return bad;
}
static __attribute__((noinline)) int run_sync(cudaError_t (*f)(void), long k)
{
    int bad = 0;
    for (long i = 0; i < k; i++)
        bad |= f();
    return bad;
}

/* Blocks of K calls to `a` alternate with blocks of K calls to `b`, through loop `loop` (0 getdevice,
 * 1 setdevice, 2 sync); which goes first alternates block by block, so a drift inside a pair cancels
 * over the blocks. Prints the median ns per call of each and the median of the blocks' differences. */
static int alternate(int loop, void *a, void *b, int blocks, long k, const char *na, const char *nb)
{
    double *ta = calloc((size_t)blocks, sizeof *ta), *tb = calloc((size_t)blocks, sizeof *tb),
           *d = calloc((size_t)blocks, sizeof *d);
    int bad = 0;
    if (!ta || !tb || !d || cudaSetDevice(0) != 0)
        return 1;
    for (int i = 0; i < blocks; i++) {
        for (int order = 0; order < 2; order++) {
            int first = (order == 0) == (i % 2 == 0);
            void *f = first ? a : b;
            double t0 = now_ns();
            switch (loop) {
            case 0: bad |= run_getdev((cudaError_t(*)(int *))f, k); break;
            case 1: bad |= run_setdev((cudaError_t(*)(int))f, k); break;
            default: bad |= run_sync((cudaError_t(*)(void))f, k); break;
            }
            (first ? ta : tb)[i] = (now_ns() - t0) / (double)k;
        }
        d[i] = ta[i] - tb[i];
    }
    printf("%s=%.3f %s=%.3f diff=%.3f same=%d\n", na, median(ta, blocks), nb, median(tb, blocks),
           median(d, blocks), a == b);
    free(ta);
    free(tb);
    free(d);
    return bad != 0;
}

static void *runtime_own(const char *name)
{
    void *h = dlopen("libcudart.so.13", RTLD_LAZY | RTLD_NOLOAD);
    void *real = h ? dlvsym(h, name, "libcudart.so.13") : NULL;
    if (!real)
        fprintf(stderr, "bench: no versioned %s in libcudart.so.13\n", name);
    return real;
}

static int paired(const char *what, int blocks, long k)
{
    int which = !strcmp(what, "getdevice") ? 0 : !strcmp(what, "setdevice") ? 1 : !strcmp(what, "sync") ? 2 : -1;
    static const char *const names[] = {"cudaGetDevice", "cudaSetDevice", "cudaDeviceSynchronize"};
    /* the target a call from this program reaches (its GOT entry: the preload's wrapper when one is
     * loaded, else the runtime) and the runtime's own definition, which no preload sits in front of */
    void *const linked[] = {(void *)cudaGetDevice, (void *)cudaSetDevice, (void *)cudaDeviceSynchronize};
    void *real = which >= 0 ? runtime_own(names[which]) : NULL;
    return real ? alternate(which, linked[which], real, blocks, k, "sym", "ptr") : 2;
}

/* A guarded reset's own cost, in one process: blocks of K cudaDeviceReset (blocked under
 * CTXGUARD_MODE=enforce, where ctxguard waits with the runtime's cudaDeviceSynchronize, decides and
 * maybe logs) alternate with blocks of K of the runtime's own cudaDeviceSynchronize, from the same
 * loop; the median of the blocks' differences is the decision (and logging) alone. Meaningless bare:
 * the resets would be real. */
static int reset_paired(int blocks, long k)
{
    void *real = runtime_own("cudaDeviceSynchronize");
    return real ? alternate(2, (void *)cudaDeviceReset, real, blocks, k, "reset", "sync") : 2;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "resetpair"))
        return reset_paired(atoi(argv[2]), atol(argv[3]));
    if (argc == 5 && !strcmp(argv[1], "paired")) {
        call = argv[2];
        return paired(argv[2], atoi(argv[3]), atol(argv[4]));
    }
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
    if (cudaGetDriverEntryPoint("cuStreamSynchronize", (void **)&stream_sync, 0, &st) || !stream_sync)
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
