/* A test plugin. The same source is built several times under different names (libplugA.so,
 * libplugB.so, …), with the fake runtime shared or static, and with nvcc against the real runtime.
 * Each action is an exported function the plugin host calls by name. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* dladdr */
#endif
#include <cuda.h>
#include <cuda_runtime_api.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N 1024
#define EXPORT __attribute__((visibility("default")))
static __thread float *dbuf; /* per thread: the multi-threaded host runs setup/check on 8 threads */
static __thread float expected[N];

#ifdef __CUDACC__
__global__ void twice(float *p, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        p[i] *= 2.0f;
}
static cudaError_t launch_twice(float *p, int n)
{
    twice<<<(n + 255) / 256, 256>>>(p, n);
    return cudaGetLastError();
}
#elif defined(CUDART_VERSION)
/* Built with gcc against a real runtime (the CUDA 11.8 and 12.4 plugins, scripts/fetch-old-cuda.sh):
 * no device code, so the data is doubled on the host, down and up through the runtime. */
static cudaError_t launch_twice(float *p, int n)
{
    static __thread float h[N];
    cudaError_t r = cudaMemcpy(h, p, sizeof(float) * (size_t)n, cudaMemcpyDeviceToHost);
    if (r) return r;
    for (int i = 0; i < n; i++)
        h[i] *= 2.0f;
    return cudaMemcpy(p, h, sizeof(float) * (size_t)n, cudaMemcpyHostToDevice);
}
#else
/* Fake kernel: the fake driver runs it on the host with the argument array. */
static void twice_host(void **args)
{
    float *p = *(float **)args[0];
    int n = *(int *)args[1];
    for (int i = 0; i < n; i++)
        p[i] *= 2.0f;
}
static cudaError_t launch_twice(float *p, int n)
{
    void *args[] = {&p, &n};
    dim3 g = {(unsigned)(n + 255) / 256, 1, 1}, b = {256, 1, 1};
    return cudaLaunchKernel((const void *)twice_host, g, b, args, 0, 0);
}
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* cuCtxCreate is cuCtxCreate_v4 (with a parameter block) since CUDA 13, cuCtxCreate_v2 before. */
static CUresult create_context(CUcontext *ctx, CUdevice dev)
{
#if defined(CUDA_VERSION) && CUDA_VERSION < 13000
    return cuCtxCreate(ctx, 0, dev);
#elif defined(__CUDACC__)
    CUctxCreateParams params = {};
    return cuCtxCreate(ctx, &params, 0, dev);
#else
    return cuCtxCreate(ctx, NULL, 0, dev);
#endif
}

/* The runtime plug_dlsymreset opens by name: its own. */
#ifndef PLUG_CUDART_SONAME
#define PLUG_CUDART_SONAME "libcudart.so.13"
#endif

static __thread int dev_used;

static int setup_on(int device)
{
    cudaError_t r = cudaSetDevice(device);
    if (r) return r;
    dev_used = device;
    float host[N];
    for (int i = 0; i < N; i++) {
        host[i] = (float)i + 0.5f;
        expected[i] = 2.0f * host[i];
    }
    if ((r = cudaMalloc((void **)&dbuf, sizeof host))) return r;
    if ((r = cudaMemcpy(dbuf, host, sizeof host, cudaMemcpyHostToDevice))) return r;
    if ((r = launch_twice(dbuf, N))) return r;
    return cudaDeviceSynchronize();
}

/* Allocates, uploads, runs a kernel: the module now holds state in the primary context. */
EXPORT int plug_setup(void)
{
    const char *d = getenv("PLUG_DEVICE");
    return setup_on(d ? atoi(d) : 0);
}
EXPORT int plug_setup1(void) { return setup_on(1); }
/* Select a device and reset it (multi-GPU scenarios). */
EXPORT int plug_reset0(void) { int r = cudaSetDevice(0); return r ? r : cudaDeviceReset(); }
/* Switch the thread to device 1 and return (leaving it there), or switch and switch back. */
EXPORT int plug_switch1(void) { return cudaSetDevice(1); }
EXPORT int plug_switch1back(void) { int r = cudaSetDevice(1); return r ? r : cudaSetDevice(0); }
EXPORT int plug_reset1(void) { int r = cudaSetDevice(1); return r ? r : cudaDeviceReset(); }

/* Reads the data back and compares every value: -1 when values are wrong, else the CUDA error. */
EXPORT int plug_check(void)
{
    float host[N];
    cudaError_t s = cudaSetDevice(dev_used); /* read back on the device the data lives on */
    if (s) return s;
    cudaError_t r = cudaMemcpy(host, dbuf, sizeof host, cudaMemcpyDeviceToHost);
    if (r) return r;
    for (int i = 0; i < N; i++)
        if (host[i] != expected[i]) return -1;
    return 0;
}

EXPORT int plug_reset(void) { return cudaDeviceReset(); }

/* A plugin that allocates at each load (reload cycles of issue 15): PLUG_ALLOC_MB of device memory
 * (64 by default), 1 MiB of managed memory, 1 MiB of pinned host memory, a stream and an event, all
 * through the runtime (a static runtime reaches the driver's cuMemAlloc… through cuGetProcAddress). */
EXPORT int plug_alloc(void)
{
    const char *mb = getenv("PLUG_ALLOC_MB");
    size_t n = (size_t)(mb ? atoi(mb) : 64) << 20;
    void *d = NULL, *m = NULL, *h = NULL;
    cudaStream_t st;
    cudaEvent_t ev;
    int r;
    if ((r = cudaMalloc(&d, n)) || (r = cudaMemset(d, 1, 4096))) return r;
    if ((r = cudaMallocManaged(&m, 1 << 20, cudaMemAttachGlobal))) return r;
    if ((r = cudaMallocHost(&h, 1 << 20))) return r;
    if ((r = cudaStreamCreate(&st)) || (r = cudaEventCreate(&ev))) return r;
    return 0;
}
/* The same, freed again before returning: nothing is left for a reset. */
EXPORT int plug_allocfree(void)
{
    void *d = NULL, *h = NULL;
    cudaStream_t st;
    cudaEvent_t ev;
    int r;
    if ((r = cudaMalloc(&d, 1 << 20)) || (r = cudaMallocHost(&h, 1 << 20))) return r;
    if ((r = cudaStreamCreate(&st)) || (r = cudaEventCreate(&ev))) return r;
    if ((r = cudaEventDestroy(ev)) || (r = cudaStreamDestroy(st))) return r;
    if ((r = cudaFreeHost(h))) return r;
    return cudaFree(d);
}
/* Driver-API allocations of the module's own (the driver door from a user module). */
EXPORT int plug_drvalloc(void)
{
    CUdeviceptr p;
    CUstream st;
    int r = cudaSetDevice(0); /* makes the primary context current */
    if (r || (r = cuMemAlloc(&p, 1 << 20))) return r;
    return cuStreamCreate(&st, 0);
}
#ifndef CUDART_VERSION
/* Issue 15's review risks, on the fakes only (their test seams are fake-only functions of libcuda,
 * found by dlsym; tests/test_reclaim.c runs these with FAKE_CUDA_REUSE=1, so a freed address comes
 * back to the next allocation of the same size). */
#define SAME_BYTES (1u << 20)
static void *fake_fn(const char *name)
{
    void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
    void *f = h ? dlsym(h, name) : NULL;
    if (h) dlclose(h);
    return f;
}
static void *same_x, *same_y;
static int race_free_result = -100, same_result = -100;
/* This module's data at an address another module may have freed just before: same_y, filled. */
static void alloc_same(void)
{
    int r = cudaMalloc(&same_y, SAME_BYTES);
    same_result = r ? r : cudaMemset(same_y, 0x5a, SAME_BYTES);
}
EXPORT int plug_allocsame(void) { alloc_same(); return same_result; }
/* Whether same_y still holds what alloc_same wrote: -1 when the values are wrong, else the error. */
EXPORT int plug_checksame(void)
{
    static unsigned char h[4096];
    if (same_result) return same_result;
    int r = cudaMemcpy(h, same_y, sizeof h, cudaMemcpyDeviceToHost);
    if (r) return r;
    for (unsigned i = 0; i < sizeof h; i++)
        if (h[i] != 0x5a) return -1;
    return 0;
}
/* Risk 1: this module allocates X; its own other thread frees X while a reclaim of its reset is
 * under way: run by the fake at the start of the reclaim's free of X, on a thread of its own (a
 * deterministic race). */
static void race_free(void) { race_free_result = cudaFree(same_x); }
EXPORT int plug_racefree(void)
{
    void (*during)(void (*)(void)) = (void (*)(void (*)(void)))fake_fn("fakeRunDuringNextFree");
    int r;
    if (!during) return -2;
    if ((r = cudaMalloc(&same_x, SAME_BYTES))) return r;
    during(race_free);
    return 0;
}
EXPORT int plug_raceresult(void) { return race_free_result; }
/* ... and another module then allocates (the same size: the fake would hand X out again). */
EXPORT int plug_racealloc(void)
{
    void (*during)(void (*)(void)) = (void (*)(void (*)(void)))fake_fn("fakeRunDuringNextFree");
    if (!during) return -2;
    during(alloc_same);
    return 0;
}
/* Risk 2: frees ctxguard did not see as frees. A free that frees and then reports an (earlier,
 * asynchronous) error: 0 when it returned that error. */
EXPORT int plug_failfree(void)
{
    void (*fail_next)(int) = (void (*)(int))fake_fn("fakeFailNextFree");
    int r;
    if (!fail_next) return -2;
    if ((r = cudaMalloc(&same_x, SAME_BYTES))) return r;
    fail_next(719); /* cudaErrorLaunchFailure */
    r = cudaFree(same_x);
    return r == 719 ? 0 : -3;
}
/* Allocated with cudaMallocAsync, freed with the per-thread-default-stream variant. */
EXPORT int plug_ptszfree(void)
{
    int r;
    if ((r = cudaMallocAsync(&same_x, SAME_BYTES, 0))) return r;
    return cudaFreeAsync_ptsz(same_x, 0);
}
/* Allocated for this module by an NVIDIA library (through the runtime: recorded as this module's)
 * and freed by that library through the driver function cuGetProcAddress handed it (the real one). */
EXPORT int plug_nvlibfree(void)
{
    /* by path beside this plugin's runtime (../fake): the sanitizers' dlopen interceptor would make
     * the lookup by name use its RUNPATH instead of this plugin's */
    char path[4096];
    Dl_info di;
    if (!dladdr((void *)plug_nvlibfree, &di) || !di.dli_fname) return -2;
    snprintf(path, sizeof path, "%s", di.dli_fname);
    char *slash = strrchr(path, '/');
    if (!slash) return -2;
    snprintf(slash, sizeof path - (size_t)(slash - path), "/../fake/libcublas.so.13");
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    int (*upload)(void **, const void *, size_t) = h ? (int (*)(void **, const void *, size_t))dlsym(h, "fakeblas_upload") : NULL;
    int (*drv_free)(void *) = h ? (int (*)(void *))dlsym(h, "fakeblas_free_driver") : NULL;
    int r;
    char *host = calloc(1, SAME_BYTES); /* not static: 1 MiB of .bss in every load of every plugin */
    if (!upload || !drv_free || !host) {
        free(host);
        return -2;
    }
    r = upload(&same_x, host, SAME_BYTES);
    free(host);
    return r ? r : drv_free(same_x);
}
/* This module's data in an NVIDIA library's own workspace, which the library allocated through the
 * driver's real cuMemAlloc (as cuBLAS's static runtime does): an allocation ctxguard does not record,
 * so it does not drop another module's stale record of the address. */
EXPORT int plug_nvlibwork(void)
{
    char path[4096];
    Dl_info di;
    if (!dladdr((void *)plug_nvlibwork, &di) || !di.dli_fname) return -2;
    snprintf(path, sizeof path, "%s", di.dli_fname);
    char *slash = strrchr(path, '/');
    if (!slash) return -2;
    snprintf(slash, sizeof path - (size_t)(slash - path), "/../fake/libcublas.so.13");
    void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    int (*work)(void **, size_t) = h ? (int (*)(void **, size_t))dlsym(h, "fakeblas_workspace_driver") : NULL;
    if (!work) return -2;
    int r = cudaSetDevice(0);
    if (!r) r = work(&same_y, SAME_BYTES);
    if (!r) r = cudaMemset(same_y, 0x5a, SAME_BYTES);
    same_result = r;
    return r;
}
/* A stream-ordered allocation on a stream of device 1 made while device 0 is current: the memory
 * lives on device 1 (the stream's device), and a reset of device 0 would not touch it. */
EXPORT int plug_xdevasync(void)
{
    cudaStream_t s1;
    int r = cudaSetDevice(1);
    if (!r) r = cudaStreamCreate(&s1);
    if (!r) r = cudaSetDevice(0);
    if (!r) r = cudaMallocAsync(&same_y, SAME_BYTES, s1);
    if (!r) r = cudaMemset(same_y, 0x5a, SAME_BYTES);
    same_result = r;
    return r;
}
/* Teardown in the common order: the plugin's shutdown resets the device, then its C++ destructors
 * (static objects, RAII buffers) free what they held. allocx makes such a buffer; freex is its
 * destructor's cudaFree, after the reset (its result is not this test's concern). */
EXPORT int plug_allocx(void) { return cudaMalloc(&same_x, SAME_BYTES); }
EXPORT int plug_freex(void) { cudaFree(same_x); return 0; }
/* The driver's per-thread-default-stream variants, from cuGetProcAddress with
 * CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM (2): B allocates with cuMemAllocAsync and frees with
 * cuMemFreeAsync_ptsz; C allocates with cuMemAllocAsync_ptsz (an allocation ctxguard did not record
 * would not drop B's stale record). */
static void *driver_fn(const char *base, unsigned long long flags)
{
    void *fn = NULL;
    CUdriverProcAddressQueryResult st;
    return cuGetProcAddress(base, &fn, 12000, flags, &st) == 0 && st == 0 ? fn : NULL;
}
EXPORT int plug_drvptszfree(void)
{
    CUresult (*alloc)(CUdeviceptr *, size_t, CUstream) = (CUresult(*)(CUdeviceptr *, size_t, CUstream))driver_fn("cuMemAllocAsync", 0);
    CUresult (*free_ptsz)(CUdeviceptr, CUstream) = (CUresult(*)(CUdeviceptr, CUstream))driver_fn("cuMemFreeAsync", 2);
    CUdeviceptr x;
    int r;
    if (!alloc || !free_ptsz) return -2;
    if ((r = cudaSetDevice(0)) || (r = alloc(&x, SAME_BYTES, 0))) return r;
    return free_ptsz(x, 0);
}
EXPORT int plug_drvptszalloc(void)
{
    CUresult (*alloc_ptsz)(CUdeviceptr *, size_t, CUstream) = (CUresult(*)(CUdeviceptr *, size_t, CUstream))driver_fn("cuMemAllocAsync", 2);
    CUdeviceptr y;
    if (!alloc_ptsz) return -2;
    int r = cudaSetDevice(0);
    if (!r) r = alloc_ptsz(&y, SAME_BYTES, 0);
    if (!r) {
        same_y = (void *)(uintptr_t)y;
        r = cudaMemset(same_y, 0x5a, SAME_BYTES);
    }
    same_result = r;
    return r;
}
/* A runtime array destroyed through the driver. */
static cudaArray_t same_arr, other_arr;
EXPORT int plug_arraydrvfree(void)
{
    struct cudaChannelFormatDesc d = {32, 0, 0, 0, 2};
    int r;
    if ((r = cudaMallocArray(&same_arr, &d, 64, 64, 0))) return r;
    return cuArrayDestroy((CUarray)same_arr);
}
EXPORT int plug_arrayalloc(void)
{
    struct cudaChannelFormatDesc d = {32, 0, 0, 0, 2};
    return cudaMallocArray(&other_arr, &d, 64, 64, 0);
}
/* The array is still this module's: freeing it succeeds. */
EXPORT int plug_arraycheck(void) { return cudaFreeArray(other_arr); }
/* The randomized scenarios under reclaim (tests/test_random.c): the module moves its data to a new
 * buffer and frees the old one in a way ctxguard does not see as a free (alternately a free that
 * reports an earlier error, and cudaFreeAsync_ptsz), so the old address may go to another module. */
EXPORT int plug_moveown(void)
{
    static int turn;
    void (*fail_next)(int) = (void (*)(int))fake_fn("fakeFailNextFree");
    float host[N], *y;
    int r;
    if (!dbuf || !fail_next) return 0;
    if ((r = cudaMemcpy(host, dbuf, sizeof host, cudaMemcpyDeviceToHost))) return r;
    if ((r = cudaMalloc((void **)&y, sizeof host))) return r;
    if ((r = cudaMemcpy(y, host, sizeof host, cudaMemcpyHostToDevice))) return r;
    if (turn++ & 1) {
        r = cudaFreeAsync_ptsz(dbuf, 0);
    } else {
        fail_next(719);
        r = cudaFree(dbuf) == 719 ? 0 : -3;
    }
    dbuf = (float *)y;
    return r;
}
#endif

/* Prints the device memory in use (cudaMemGetInfo: total - free); on the fakes also pinned host
 * memory, streams and events in use (fakeResourcesInUse). */
EXPORT int plug_meminfo(void)
{
    size_t fr = 0, total = 0;
    int r = cudaMemGetInfo(&fr, &total);
    if (r) return r;
    printf("meminfo used=%zu", total - fr);
#ifndef __CUDACC__
    void *h = dlopen("libcuda.so.1", RTLD_LAZY | RTLD_NOLOAD);
    void (*in_use)(int, size_t *, size_t *, int *, int *) =
        h ? (void (*)(int, size_t *, size_t *, int *, int *))dlsym(h, "fakeResourcesInUse") : NULL;
    if (in_use) {
        size_t dm, hm;
        int ns, ne;
        in_use(0, &dm, &hm, &ns, &ne);
        printf(" host=%zu streams=%d events=%d", hm, ns, ne);
    }
    if (h) dlclose(h);
#endif
    printf("\n");
    return 0;
}
#if defined(CUDART_VERSION) && CUDART_VERSION >= 13000
EXPORT int plug_threadexit(void) { return -5; } /* cudaThreadExit left the CUDA 13 runtime */
#else
EXPORT int plug_threadexit(void) { return cudaThreadExit(); }
#endif
EXPORT int plug_sync(void) { return cudaDeviceSynchronize(); }
EXPORT int plug_getdevice(void) { int d; return cudaGetDevice(&d); }
/* A crashing module, and a request for a dump (post-mortem tests). */
static int *volatile nowhere; /* NULL, opaque to the compiler */
EXPORT int plug_crash(void) { *nowhere = 1; return 0; }
EXPORT int plug_usr2(void) { return raise(SIGUSR2); }

/* A well-behaved module: its own driver-API context, the runtime used on it, then a reset that only
 * concerns that context, then the context destroyed (which also pops it). */
EXPORT int plug_ctxreset(void)
{
    CUdevice dev;
    CUcontext ctx;
    void *p = NULL;
    int r;
    if ((r = cuInit(0)) || (r = cuDeviceGet(&dev, 0))) return r;
    if ((r = create_context(&ctx, dev))) return r;
    if ((r = cudaMalloc(&p, 4096))) return r;
    if ((r = cudaDeviceReset())) return r;
    return cuCtxDestroy(ctx);
}

/* A module that creates a context of its own and returns with it still current (ctxleave), and one
 * that pushes it and pops it again before returning (ctxpushpop). */
static int own_context(CUcontext *ctx)
{
    CUdevice dev;
    int r;
    if ((r = cuInit(0)) || (r = cuDeviceGet(&dev, 0))) return r;
    return create_context(ctx, dev);
}
EXPORT int plug_ctxleave(void)
{
    CUcontext ctx;
    return own_context(&ctx);
}
EXPORT int plug_ctxpushpop(void)
{
    CUcontext ctx, popped;
    int r = own_context(&ctx); /* current now */
    if (r || (r = cuCtxPopCurrent(&popped))) return r;
    if ((r = cuCtxPushCurrent(ctx))) return r;
    void *p = NULL;
    if ((r = cudaMalloc(&p, 256))) return r;
    return cuCtxPopCurrent(&popped);
}

/* The driver's reset, reached through the runtime's entry-point lookup (cuGetProcAddress behind it:
 * the 4-argument one for the CUDA 11 runtime). cudaGetDriverEntryPointByVersion is CUDA 12.5's;
 * cudaGetDriverEntryPoint took a fourth argument, the status, in CUDA 12.0. */
EXPORT int plug_drvreset(void)
{
    CUresult (*reset)(CUdevice) = NULL;
#if defined(CUDART_VERSION) && CUDART_VERSION < 12000
    int r = cudaGetDriverEntryPoint("cuDevicePrimaryCtxReset", (void **)&reset, cudaEnableDefault);
    int found = 1;
#else
    enum cudaDriverEntryPointQueryResult st;
#if defined(CUDART_VERSION) && CUDART_VERSION < 12050
    int r = cudaGetDriverEntryPoint("cuDevicePrimaryCtxReset", (void **)&reset, cudaEnableDefault, &st);
#else
    int r = cudaGetDriverEntryPointByVersion("cuDevicePrimaryCtxReset", (void **)&reset, 12000, 0, &st);
#endif
    int found = st == cudaDriverEntryPointSuccess;
#endif
    if (r) return r;
    if (!found || !reset) return -2;
    return reset(0);
}

/* TensorFlow-style: the runtime resolved by name from a handle. */
EXPORT int plug_dlsymreset(void)
{
    void *h = dlopen(PLUG_CUDART_SONAME, RTLD_LAZY | RTLD_LOCAL);
    if (!h) return -3;
    cudaError_t (*f)(void) = (cudaError_t(*)(void))dlsym(h, "cudaDeviceReset");
    if (!f) return -4;
    return f();
}

#ifdef PLUG_CTOR
/* libplugE: a module whose constructor already uses the runtime, before main and possibly before
 * ctxguard has initialised itself; its result is kept for the host to report. */
EXPORT int plug_ctor_result = -100;
__attribute__((constructor)) static void early_use(void) { plug_ctor_result = plug_setup(); }
#endif

EXPORT const char *plug_errname(int e)
{
    if (e == -1) return "wrong values";
    if (e == -5) return "not in this runtime";
    if (e < -1) return "test setup failed";
    return cudaGetErrorName((cudaError_t)e);
}
#ifdef __cplusplus
}
#endif
