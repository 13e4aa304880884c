/* A fake CUDA runtime, built both as libcudart.so.13 (version node libcudart.so.13, like the real
 * one) and as a static archive to link into a plugin. It reaches the driver the way the measured
 * runtime does: dlopen("libcuda.so.1"), dlsym "cuGetProcAddress_v2", then cuGetProcAddress asked for
 * itself (11030 and 12000), then every driver function through that pointer with old versions. The
 * primary context is retained lazily per device; cudaDeviceReset resets it without releasing (the
 * next call retains again); with a created context current, a reset only drops runtime state. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef FAKE_STATIC
#define API __attribute__((visibility("hidden"))) /* static cudart binds inside its plugin */
#else
#define API __attribute__((visibility("default")))
#endif

typedef int CUresult, cudaError_t, CUdevice;
typedef struct fctx *CUcontext;
typedef unsigned long long CUdeviceptr, cuuint64_t;
typedef struct { unsigned int x, y, z; } dim3;
typedef struct CUstream_st *cudaStream_t;
typedef struct CUevent_st *cudaEvent_t;

static struct {
    CUresult (*GetProcAddress)(const char *, void **, int, cuuint64_t, int *);
    CUresult (*Init)(unsigned int);
    CUresult (*DeviceGetCount)(int *);
    CUresult (*CtxGetCurrent)(CUcontext *);
    CUresult (*CtxSetCurrent)(CUcontext);
    CUresult (*CtxGetDevice)(CUdevice *);
    CUresult (*CtxGetApiVersion)(CUcontext, unsigned int *);
    CUresult (*CtxSynchronize)(void);
    CUresult (*PrimaryRetain)(CUcontext *, CUdevice);
    CUresult (*PrimaryReset)(CUdevice);
    CUresult (*PrimaryRelease)(CUdevice);
    CUresult (*PrimaryGetState)(CUdevice, unsigned int *, int *);
    CUresult (*PrimarySetFlags)(CUdevice, unsigned int);
    CUresult (*MemAlloc)(CUdeviceptr *, size_t);
    CUresult (*MemFree)(CUdeviceptr);
    CUresult (*MemcpyHtoD)(CUdeviceptr, const void *, size_t);
    CUresult (*MemcpyDtoH)(void *, CUdeviceptr, size_t);
    CUresult (*MemsetD8)(CUdeviceptr, unsigned char, size_t);
    CUresult (*LaunchKernel)(const void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                             unsigned, void *, void **, void **);
    CUresult (*MemAllocManaged)(CUdeviceptr *, size_t, unsigned int);
    CUresult (*MemAllocPitch)(CUdeviceptr *, size_t *, size_t, size_t, unsigned int);
    CUresult (*MemAllocAsync)(CUdeviceptr *, size_t, void *);
    CUresult (*MemAllocFromPoolAsync)(CUdeviceptr *, size_t, void *, void *);
    CUresult (*MemFreeAsync)(CUdeviceptr, void *);
    CUresult (*MemAllocHost)(void **, size_t);
    CUresult (*MemHostAlloc)(void **, size_t, unsigned int);
    CUresult (*MemFreeHost)(void *);
    CUresult (*MemGetInfo)(size_t *, size_t *);
    CUresult (*StreamCreate)(void **, unsigned int);
    CUresult (*StreamCreateWithPriority)(void **, unsigned int, int);
    CUresult (*StreamDestroy)(void *);
    CUresult (*EventCreate)(void **, unsigned int);
    CUresult (*EventDestroy)(void *);
    CUresult (*ArrayCreate)(void **, const void *);
    CUresult (*ArrayDestroy)(void *);
    int (*IsPrimary)(CUcontext); /* fake-only, found by dlsym: see fake_cuda.c */
} drv;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static cudaError_t init_error;
static CUcontext primary[4];
static int ndev;
static __thread int tdev;

#define INSUFFICIENT_DRIVER 35

static int get(const char *name, int version, void **out)
{
    int status = 1;
    return drv.GetProcAddress(name, out, version, 0, &status) == 0 && status == 0 ? 0 : -1;
}

/* Guards primary[]/retained[]; taken around fork (like a real runtime) so a child never inherits it held. */
static pthread_mutex_t retain_lock = PTHREAD_MUTEX_INITIALIZER;
static void fork_lock(void) { pthread_mutex_lock(&retain_lock); }
static void fork_unlock(void) { pthread_mutex_unlock(&retain_lock); }
/* In the child the lock is made anew, whether or not fork_lock ran: glibc skips handlers registered
 * while a fork is under way (init() registers lazily, possibly during another thread's fork). */
static void fork_child(void) { pthread_mutex_init(&retain_lock, NULL); }
__attribute__((constructor)) static void fork_child_at_load(void) { pthread_atfork(NULL, NULL, fork_child); }

static void init(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!h) { init_error = INSUFFICIENT_DRIVER; return; }
    CUresult (*gpa2)(const char *, void **, int, cuuint64_t, int *) =
        (CUresult(*)(const char *, void **, int, cuuint64_t, int *))dlsym(h, "cuGetProcAddress_v2");
    if (!gpa2) { init_error = INSUFFICIENT_DRIVER; return; }
    void *self_v1 = NULL, *self_v2 = NULL;
    int st = 1;
    gpa2("cuGetProcAddress", &self_v1, 11030, 0, &st);
    if (gpa2("cuGetProcAddress", &self_v2, 12000, 0, &st) != 0 || !self_v2) {
        init_error = INSUFFICIENT_DRIVER;
        return;
    }
    drv.IsPrimary = (int (*)(CUcontext))dlsym(h, "fakeCtxIsPrimary");
    drv.GetProcAddress = (CUresult(*)(const char *, void **, int, cuuint64_t, int *))self_v2;
    int bad = 0;
    bad |= get("cuInit", 2000, (void **)&drv.Init);
    bad |= get("cuDeviceGetCount", 2000, (void **)&drv.DeviceGetCount);
    bad |= get("cuCtxGetCurrent", 4000, (void **)&drv.CtxGetCurrent);
    bad |= get("cuCtxSetCurrent", 4000, (void **)&drv.CtxSetCurrent);
    bad |= get("cuCtxGetDevice", 2000, (void **)&drv.CtxGetDevice);
    bad |= get("cuCtxGetApiVersion", 3020, (void **)&drv.CtxGetApiVersion);
    bad |= get("cuCtxSynchronize", 2000, (void **)&drv.CtxSynchronize);
    bad |= get("cuDevicePrimaryCtxRetain", 7000, (void **)&drv.PrimaryRetain);
    bad |= get("cuDevicePrimaryCtxReset", 7000, (void **)&drv.PrimaryReset);
    bad |= get("cuDevicePrimaryCtxRelease", 7000, (void **)&drv.PrimaryRelease);
    bad |= get("cuDevicePrimaryCtxGetState", 7000, (void **)&drv.PrimaryGetState);
    bad |= get("cuDevicePrimaryCtxSetFlags", 7000, (void **)&drv.PrimarySetFlags);
    bad |= get("cuMemAlloc", 3020, (void **)&drv.MemAlloc);
    bad |= get("cuMemFree", 3020, (void **)&drv.MemFree);
    bad |= get("cuMemcpyHtoD", 3020, (void **)&drv.MemcpyHtoD);
    bad |= get("cuMemcpyDtoH", 3020, (void **)&drv.MemcpyDtoH);
    bad |= get("cuMemsetD8", 3020, (void **)&drv.MemsetD8);
    bad |= get("cuLaunchKernel", 4000, (void **)&drv.LaunchKernel);
    bad |= get("cuMemAllocManaged", 6000, (void **)&drv.MemAllocManaged);
    bad |= get("cuMemAllocPitch", 3020, (void **)&drv.MemAllocPitch);
    bad |= get("cuMemAllocAsync", 11020, (void **)&drv.MemAllocAsync);
    bad |= get("cuMemAllocFromPoolAsync", 11020, (void **)&drv.MemAllocFromPoolAsync);
    bad |= get("cuMemFreeAsync", 11020, (void **)&drv.MemFreeAsync);
    bad |= get("cuMemAllocHost", 3020, (void **)&drv.MemAllocHost);
    bad |= get("cuMemHostAlloc", 2020, (void **)&drv.MemHostAlloc);
    bad |= get("cuMemFreeHost", 2000, (void **)&drv.MemFreeHost);
    bad |= get("cuMemGetInfo", 3020, (void **)&drv.MemGetInfo);
    bad |= get("cuStreamCreate", 2000, (void **)&drv.StreamCreate);
    bad |= get("cuStreamCreateWithPriority", 5050, (void **)&drv.StreamCreateWithPriority);
    bad |= get("cuStreamDestroy", 4000, (void **)&drv.StreamDestroy);
    bad |= get("cuEventCreate", 2000, (void **)&drv.EventCreate);
    bad |= get("cuEventDestroy", 4000, (void **)&drv.EventDestroy);
    bad |= get("cuArrayCreate", 3020, (void **)&drv.ArrayCreate);
    bad |= get("cuArrayDestroy", 2000, (void **)&drv.ArrayDestroy);
    if (bad || drv.Init(0) != 0 || drv.DeviceGetCount(&ndev) != 0)
        init_error = INSUFFICIENT_DRIVER;
    /* After cuInit registered the driver's handlers: prepare handlers run in reverse order, so this
     * one (retain_lock) is taken before the driver's lock, the order ensure() nests them in. */
    pthread_atfork(fork_lock, fork_unlock, fork_child);
}

/* As measured with the real runtime on an H100: at process exit it releases the primary contexts
 * it retained, from an exit handler (no user module on the stack). */
static int retained[4];
static void teardown(void)
{
    for (int d = 0; d < 4; d++)
        while (retained[d] > 0) {
            retained[d]--;
            drv.PrimaryRelease(d);
        }
}

static int is_primary(CUcontext c)
{
    if (drv.IsPrimary)
        return drv.IsPrimary(c);
    for (int d = 0; d < 4; d++)
        if (c && primary[d] == c)
            return 1;
    return 0;
}

/* Make sure a usable context is current: a created one the caller made current, else the primary
 * context of this thread's device, retained again if a reset deinitialised it. */
static cudaError_t ensure(void)
{
    pthread_once(&once, init);
    if (init_error) return init_error;
    CUcontext c = NULL;
    drv.CtxGetCurrent(&c);
    if (c && !is_primary(c)) return 0;
    unsigned int flags;
    int active = 0;
    pthread_mutex_lock(&retain_lock); /* the runtime's per-device state is shared by its threads */
    drv.PrimaryGetState(tdev, &flags, &active);
    CUcontext prim = primary[tdev];
    if (!prim || !active) {
        CUresult r = drv.PrimaryRetain(&primary[tdev], tdev);
        if (r) {
            pthread_mutex_unlock(&retain_lock);
            return r;
        }
        static int registered;
        if (!__atomic_exchange_n(&registered, 1, __ATOMIC_ACQ_REL))
            atexit(teardown);
        /* a reset keeps the driver's count: every retain made is released at exit */
        retained[tdev]++;
        prim = primary[tdev];
    }
    pthread_mutex_unlock(&retain_lock);
    if (c != prim) return drv.CtxSetCurrent(prim);
    return 0;
}

#define ENSURE() do { cudaError_t e_ = ensure(); if (e_) return e_; } while (0)

static cudaError_t device_reset(void)
{
    pthread_once(&once, init);
    if (init_error) return init_error;
    CUcontext c = NULL;
    unsigned int api;
    drv.CtxGetCurrent(&c);
    if (c) drv.CtxGetApiVersion(c, &api);
    if (c && !is_primary(c)) return 0; /* only the runtime's own state for that context */
    CUdevice d = tdev;
    if (c) drv.CtxGetDevice(&d);
    return drv.PrimaryReset(d);
}

API cudaError_t cudaDeviceReset(void) { return device_reset(); }
API cudaError_t cudaThreadExit(void) { return device_reset(); }
API cudaError_t cudaSetDevice(int d)
{
    pthread_once(&once, init);
    if (init_error) return init_error;
    if (d < 0 || d >= ndev) return 101;
    tdev = d;
    return ensure();
}
API cudaError_t cudaGetDevice(int *d) { if (!d) return 1; *d = tdev; return 0; }
API cudaError_t cudaGetDeviceCount(int *n)
{
    pthread_once(&once, init);
    if (init_error) return init_error;
    *n = ndev;
    return 0;
}
API cudaError_t cudaDeviceSynchronize(void) { ENSURE(); return drv.CtxSynchronize(); }
API cudaError_t cudaSetDeviceFlags(unsigned int f)
{
    pthread_once(&once, init);
    if (init_error) return init_error;
    return drv.PrimarySetFlags(tdev, f);
}
/* This runtime's own bookkeeping of what cudaMalloc gave out (each copy of the runtime has its own,
 * as a real runtime keeps per-allocation state): a free through another copy frees the memory but
 * leaves this count up. fakeRuntimeLive: how many are live (issue 15: a reclaim frees through the
 * runtime an allocation came through). */
static pthread_mutex_t mine_lock = PTHREAD_MUTEX_INITIALIZER;
static void *mine[256];
static void note_mine(void *p, int add)
{
    pthread_mutex_lock(&mine_lock);
    for (int i = 0; i < 256; i++)
        if (mine[i] == (add ? NULL : p)) {
            mine[i] = add ? p : NULL;
            break;
        }
    pthread_mutex_unlock(&mine_lock);
}
API int fakeRuntimeLive(void)
{
    int n = 0;
    pthread_mutex_lock(&mine_lock);
    for (int i = 0; i < 256; i++)
        n += mine[i] != NULL;
    pthread_mutex_unlock(&mine_lock);
    return n;
}
API cudaError_t cudaMalloc(void **p, size_t n)
{
    ENSURE();
    CUdeviceptr q = 0;
    CUresult r = drv.MemAlloc(&q, n);
    if (!r) {
        *p = (void *)(uintptr_t)q;
        note_mine(*p, 1);
    }
    return r;
}
API cudaError_t cudaFree(void *p)
{
    ENSURE();
    CUresult r = p ? drv.MemFree((CUdeviceptr)(uintptr_t)p) : 0;
    if (!r && p)
        note_mine(p, 0);
    return r;
}
API cudaError_t cudaMemcpy(void *dst, const void *src, size_t n, int kind)
{
    ENSURE();
    if (kind == 1) return drv.MemcpyHtoD((CUdeviceptr)(uintptr_t)dst, src, n);
    if (kind == 2) return drv.MemcpyDtoH(dst, (CUdeviceptr)(uintptr_t)src, n);
    return 1;
}
API cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t n, int kind, cudaStream_t s)
{
    (void)s;
    return cudaMemcpy(dst, src, n, kind);
}
API cudaError_t cudaMemset(void *p, int v, size_t n)
{
    ENSURE();
    return drv.MemsetD8((CUdeviceptr)(uintptr_t)p, (unsigned char)v, n);
}
API cudaError_t cudaLaunchKernel(const void *f, dim3 g, dim3 b, void **args, size_t shmem, cudaStream_t s)
{
    ENSURE();
    return drv.LaunchKernel(f, g.x, g.y, g.z, b.x, b.y, b.z, (unsigned)shmem, s, args, NULL);
}
API cudaError_t cudaStreamCreate(cudaStream_t *s) { ENSURE(); return drv.StreamCreate((void **)s, 0); }
API cudaError_t cudaStreamCreateWithFlags(cudaStream_t *s, unsigned int f) { ENSURE(); return drv.StreamCreate((void **)s, f); }
API cudaError_t cudaStreamCreateWithPriority(cudaStream_t *s, unsigned int f, int prio)
{
    ENSURE();
    return drv.StreamCreateWithPriority((void **)s, f, prio);
}
API cudaError_t cudaStreamDestroy(cudaStream_t s) { ENSURE(); return drv.StreamDestroy(s); }
API cudaError_t cudaEventCreateWithFlags(cudaEvent_t *e, unsigned int f) { ENSURE(); return drv.EventCreate((void **)e, f); }
API cudaError_t cudaEventDestroy(cudaEvent_t e) { ENSURE(); return drv.EventDestroy(e); }
static cudaError_t to_ptr(void **p, CUresult r, const CUdeviceptr *q) /* q read after the call */
{
    if (!r) *p = (void *)(uintptr_t)*q;
    return r;
}
API cudaError_t cudaMallocManaged(void **p, size_t n, unsigned int f)
{
    ENSURE();
    CUdeviceptr q = 0;
    return to_ptr(p, drv.MemAllocManaged(&q, n, f), &q);
}
API cudaError_t cudaMallocPitch(void **p, size_t *pitch, size_t w, size_t h)
{
    ENSURE();
    CUdeviceptr q = 0;
    return to_ptr(p, drv.MemAllocPitch(&q, pitch, w, h, 4), &q);
}
API cudaError_t cudaMallocAsync(void **p, size_t n, cudaStream_t s)
{
    ENSURE();
    CUdeviceptr q = 0;
    return to_ptr(p, drv.MemAllocAsync(&q, n, s), &q);
}
API cudaError_t cudaFreeAsync(void *p, cudaStream_t s) { ENSURE(); return drv.MemFreeAsync((CUdeviceptr)(uintptr_t)p, s); }
/* The per-thread-default-stream variants (nvcc --default-stream per-thread): the same here. */
API cudaError_t cudaMallocAsync_ptsz(void **p, size_t n, cudaStream_t s) { return cudaMallocAsync(p, n, s); }
API cudaError_t cudaFreeAsync_ptsz(void *p, cudaStream_t s) { return cudaFreeAsync(p, s); }
typedef struct cudaArray *cudaArray_t;
struct cudaChannelFormatDesc { int x, y, z, w; int f; };
API cudaError_t cudaMallocArray(cudaArray_t *a, const struct cudaChannelFormatDesc *d, size_t w, size_t h, unsigned int f)
{
    (void)w; (void)h; (void)f;
    ENSURE();
    return d ? drv.ArrayCreate((void **)a, d) : 1;
}
API cudaError_t cudaFreeArray(cudaArray_t a) { ENSURE(); return a ? drv.ArrayDestroy(a) : 0; }
API cudaError_t cudaMallocHost(void **p, size_t n) { ENSURE(); return drv.MemAllocHost(p, n); }
API cudaError_t cudaHostAlloc(void **p, size_t n, unsigned int f) { ENSURE(); return drv.MemHostAlloc(p, n, f); }
API cudaError_t cudaFreeHost(void *p) { ENSURE(); return drv.MemFreeHost(p); }
API cudaError_t cudaMemGetInfo(size_t *f, size_t *t) { ENSURE(); return drv.MemGetInfo(f, t); }
API cudaError_t cudaStreamSynchronize(cudaStream_t s) { (void)s; ENSURE(); return drv.CtxSynchronize(); }
API cudaError_t cudaEventCreate(cudaEvent_t *e) { ENSURE(); return drv.EventCreate((void **)e, 0); }
API cudaError_t cudaRuntimeGetVersion(int *v) { *v = 13000; return 0; }
API cudaError_t cudaGetDriverEntryPoint(const char *sym, void **fp, unsigned long long flags, int *status)
{
    pthread_once(&once, init);
    if (init_error) return init_error;
    return drv.GetProcAddress(sym, fp, 13000, flags, status) ? 500 : 0;
}
API cudaError_t cudaGetDriverEntryPointByVersion(const char *sym, void **fp, unsigned int v,
                                                 unsigned long long flags, int *status)
{
    pthread_once(&once, init);
    if (init_error) return init_error;
    return drv.GetProcAddress(sym, fp, (int)v, flags, status) ? 500 : 0;
}
API const char *cudaGetErrorName(cudaError_t e)
{
    switch (e) {
    case 0: return "cudaSuccess";
    case 1: return "cudaErrorInvalidValue";
    case 3: return "cudaErrorInitializationError";
    case 35: return "cudaErrorInsufficientDriver";
    case 101: return "cudaErrorInvalidDevice";
    case 201: return "cudaErrorDeviceUninitialized";
    case 302: return "cudaErrorSharedObjectSymbolNotFound";
    case 500: return "cudaErrorSymbolNotFound";
    case 709: return "cudaErrorContextIsDestroyed";
    case 800: return "cudaErrorNotPermitted";
    default: return "cudaErrorUnknown";
    }
}
