/* A fake libcuda.so.1 for CI. It models what ctxguard's scenarios depend on, as measured on an
 * H100 (driver 580.159): refcounted primary contexts whose handle survives a reset, a per-thread
 * context stack, created contexts, and allocations tied to a context generation so that memory from
 * before a reset is rejected with CUDA_ERROR_INVALID_VALUE. Device memory is host memory. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef int CUdevice;
typedef unsigned long long CUdeviceptr, cuuint64_t;

#define API __attribute__((visibility("default")))
enum { OK = 0, INVALID_VALUE = 1, NOT_INITIALIZED = 3, INVALID_DEVICE = 101, INVALID_CONTEXT = 201,
       NOT_FOUND = 500, DESTROYED = 709 };
#define MAXDEV 4
#define DRIVER_VERSION 13000

struct fctx {
    int dev, primary, alive, active, refcount;
    unsigned int gen, flags;
    unsigned long long id;
};
typedef struct fctx *CUcontext;

static struct fctx prim[MAXDEV];
static struct fctx made[64];
static int initialized, ndev = 1;
static unsigned long long next_id = 1;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static __thread struct fctx *stack[32];
static __thread int depth;

struct alloc {
    char *mem;
    size_t n;
    struct fctx *ctx;
    unsigned int gen;
    int host; /* pinned host memory (cuMemAllocHost, cuMemHostAlloc) */
    int dead; /* its context was reset or destroyed: gone, but the block is never handed out again */
};
static struct alloc allocs[4096];
/* What is in use per device, as cuMemGetInfo and fakeResourcesInUse report it: device memory, pinned
 * host memory, streams, events. A reset or the last release frees the context's share of each. */
static size_t dev_used[MAXDEV], host_used[MAXDEV];
static int streams_live[MAXDEV], events_live[MAXDEV];
#define FAKE_TOTAL_MEM (80ull << 30)
struct fobj { /* a stream, an event or an array: a handle of its own, tied to its context's generation */
    struct fctx *ctx;
    unsigned int gen;
    int is_event, live; /* is_event: 0 stream, 1 event, 2 array */
};
static int arrays_live[MAXDEV];
static struct fobj objs[1024];
static void drop_context_state(struct fctx *c); /* under lock */

/* FAKE_CUDA_REUSE=1: a freed block is kept and handed out again, newest first, to the next
 * allocation of the same size and kind, as a real driver reuses addresses (deterministically here:
 * issue 15's tests of stale records and of a free racing a reclaim need the address back). */
static int reuse;
#define REUSE_MAX 64
static struct { char *mem; size_t n; int host; } freed_blocks[REUSE_MAX];
static int nfreed;
/* Test seams (fake-only, found by dlsym): functions run on another thread, joined, at the start of
 * the next free or destroy (a racing thread, made deterministic); and a next free that frees and then
 * reports an error (as a free reporting an earlier asynchronous error does). */
static void (*during_next_free[4])(void);
static int n_during, fail_next_free;

static struct fctx *cur(void) { return depth ? stack[depth - 1] : NULL; }
static int usable(const struct fctx *c) { return c && c->alive && (!c->primary || c->active); }
static CUresult ctx_error(const struct fctx *c) { return c == NULL ? INVALID_CONTEXT : DESTROYED; }

static void fork_lock(void) { pthread_mutex_lock(&lock); }
static void fork_unlock(void) { pthread_mutex_unlock(&lock); }
/* The child makes the lock anew whether or not fork_lock ran (a handler registered by cuInit during
 * another thread's fork is skipped by glibc). */
static void fork_child(void) { pthread_mutex_init(&lock, NULL); }
__attribute__((constructor)) static void fork_child_at_load(void) { pthread_atfork(NULL, NULL, fork_child); }

API CUresult cuInit(unsigned int flags)
{
    if (flags != 0)
        return INVALID_VALUE;
    static int once;
    if (!__atomic_exchange_n(&once, 1, __ATOMIC_ACQ_REL))
        pthread_atfork(fork_lock, fork_unlock, fork_child); /* a child never inherits the lock held */
    const char *n = getenv("FAKE_CUDA_DEVICES");
    if (n && atoi(n) > 0 && atoi(n) <= MAXDEV)
        ndev = atoi(n);
    const char *ru = getenv("FAKE_CUDA_REUSE");
    reuse = ru && strcmp(ru, "1") == 0;
    for (int d = 0; d < MAXDEV; d++) {
        prim[d].dev = d;
        prim[d].primary = 1;
        prim[d].alive = 1;
    }
    initialized = 1;
    return OK;
}

#define NEED_INIT() do { if (!initialized) return NOT_INITIALIZED; } while (0)

API CUresult cuDriverGetVersion(int *v) { if (!v) return INVALID_VALUE; *v = DRIVER_VERSION; return OK; }
API CUresult cuDeviceGetCount(int *n) { NEED_INIT(); if (!n) return INVALID_VALUE; *n = ndev; return OK; }
API CUresult cuDeviceGet(CUdevice *d, int ordinal)
{
    NEED_INIT();
    if (!d) return INVALID_VALUE;
    if (ordinal < 0 || ordinal >= ndev) return INVALID_DEVICE;
    *d = ordinal;
    return OK;
}

API CUresult cuCtxGetCurrent(CUcontext *p) { NEED_INIT(); if (!p) return INVALID_VALUE; *p = cur(); return OK; }
API CUresult cuCtxSetCurrent(CUcontext c)
{
    NEED_INIT();
    if (c == NULL) { if (depth) depth--; return OK; }
    if (depth == 0) stack[depth++] = c; else stack[depth - 1] = c;
    return OK;
}
API CUresult cuCtxGetDevice(CUdevice *d)
{
    NEED_INIT();
    struct fctx *c = cur();
    if (!c) return INVALID_CONTEXT;
    if (!c->alive) return DESTROYED;
    *d = c->dev;
    return OK;
}
static CUresult push(CUcontext c)
{
    NEED_INIT();
    if (!c || depth >= 32) return INVALID_VALUE;
    stack[depth++] = c;
    return OK;
}
static CUresult pop(CUcontext *p)
{
    NEED_INIT();
    if (!depth) return INVALID_CONTEXT;
    struct fctx *c = stack[--depth];
    if (p) *p = c;
    return OK;
}
API CUresult cuCtxPushCurrent(CUcontext c) { return push(c); }
API CUresult cuCtxPushCurrent_v2(CUcontext c) { return push(c); }
API CUresult cuCtxPopCurrent(CUcontext *p) { return pop(p); }
API CUresult cuCtxPopCurrent_v2(CUcontext *p) { return pop(p); }

static CUresult create(CUcontext *p, unsigned int flags, CUdevice dev)
{
    NEED_INIT();
    if (!p) return INVALID_VALUE;
    if (dev < 0 || dev >= ndev) return INVALID_DEVICE;
    pthread_mutex_lock(&lock);
    struct fctx *c = NULL;
    for (int i = 0; i < 64 && !c; i++)
        if (!made[i].alive) c = &made[i];
    if (c) {
        c->dev = dev; c->primary = 0; c->alive = 1; c->active = 1; c->flags = flags;
        c->gen++;
        c->id = next_id++;
    }
    pthread_mutex_unlock(&lock);
    if (!c) return INVALID_VALUE;
    *p = c;
    return push(c);
}
API CUresult cuCtxCreate(CUcontext *p, unsigned int f, CUdevice d) { return create(p, f, d); }
API CUresult cuCtxCreate_v2(CUcontext *p, unsigned int f, CUdevice d) { return create(p, f, d); }
API CUresult cuCtxCreate_v3(CUcontext *p, void *params, int n, unsigned int f, CUdevice d)
{ (void)params; (void)n; return create(p, f, d); }
API CUresult cuCtxCreate_v4(CUcontext *p, void *params, unsigned int f, CUdevice d)
{ (void)params; return create(p, f, d); }

static CUresult destroy(CUcontext c)
{
    NEED_INIT();
    if (!c) return INVALID_VALUE;
    if (c->primary) return INVALID_CONTEXT; /* primary contexts go through Release/Reset */
    if (!c->alive) return DESTROYED;
    pthread_mutex_lock(&lock);
    c->alive = 0;
    c->gen++;
    drop_context_state(c);
    pthread_mutex_unlock(&lock);
    if (depth && stack[depth - 1] == c) depth--; /* a current context is also popped */
    return OK;
}
API CUresult cuCtxDestroy(CUcontext c) { return destroy(c); }
API CUresult cuCtxDestroy_v2(CUcontext c) { return destroy(c); }

API CUresult cuCtxSynchronize(void)
{
    NEED_INIT();
    struct fctx *c = cur();
    return usable(c) ? OK : ctx_error(c);
}
API CUresult cuCtxGetApiVersion(CUcontext c, unsigned int *v)
{
    NEED_INIT();
    if (!v) return INVALID_VALUE;
    if (!c) c = cur();
    if (!c) return INVALID_CONTEXT;
    *v = 3020;
    return OK;
}
API CUresult cuCtxGetId(CUcontext c, unsigned long long *id)
{
    NEED_INIT();
    if (!c) c = cur();
    if (!c || !id) return INVALID_CONTEXT;
    *id = c->id;
    return OK;
}

API CUresult cuDevicePrimaryCtxRetain(CUcontext *p, CUdevice dev)
{
    NEED_INIT();
    if (!p) return INVALID_VALUE;
    if (dev < 0 || dev >= ndev) return INVALID_DEVICE;
    pthread_mutex_lock(&lock);
    struct fctx *c = &prim[dev];
    if (!c->active) {
        c->active = 1;
        c->id = next_id++; /* a new incarnation: same handle, new id */
    }
    c->refcount++;
    pthread_mutex_unlock(&lock);
    *p = c; /* the same handle every time, also after a reset */
    return OK;
}
static CUresult release(CUdevice dev)
{
    NEED_INIT();
    if (dev < 0 || dev >= ndev) return INVALID_DEVICE;
    pthread_mutex_lock(&lock);
    struct fctx *c = &prim[dev];
    CUresult r = OK;
    if (c->refcount <= 0)
        r = INVALID_CONTEXT;
    else if (--c->refcount == 0) {
        c->active = 0;
        c->gen++;
        drop_context_state(c);
    }
    pthread_mutex_unlock(&lock);
    return r;
}
API CUresult cuDevicePrimaryCtxRelease(CUdevice d) { return release(d); }
API CUresult cuDevicePrimaryCtxRelease_v2(CUdevice d) { return release(d); }
/* Deinitialises at once: allocations die, the context stays current to its threads, and the
 * runtime retains it again on its next call. The retain count is kept, as measured on an H200
 * (driver 580.159, tests/gpu/refcount_probe.c): two retains, a reset, a third retain, and the context
 * stays active until the third release; a fourth fails with CUDA_ERROR_INVALID_CONTEXT. So a module
 * that retained before the reset still holds its retain, and its release after it is harmless while
 * another retain is held. */
static CUresult reset(CUdevice dev)
{
    NEED_INIT();
    if (dev < 0 || dev >= ndev) return INVALID_DEVICE;
    pthread_mutex_lock(&lock);
    struct fctx *c = &prim[dev];
    if (c->active) {
        c->active = 0;
        c->gen++;
        drop_context_state(c);
    }
    pthread_mutex_unlock(&lock);
    return OK;
}
API CUresult cuDevicePrimaryCtxReset(CUdevice d) { return reset(d); }
API CUresult cuDevicePrimaryCtxReset_v2(CUdevice d) { return reset(d); }
API CUresult cuDevicePrimaryCtxGetState(CUdevice dev, unsigned int *flags, int *active)
{
    NEED_INIT();
    if (dev < 0 || dev >= ndev) return INVALID_DEVICE;
    if (!flags || !active) return INVALID_VALUE;
    pthread_mutex_lock(&lock);
    *flags = prim[dev].flags;
    *active = prim[dev].active;
    pthread_mutex_unlock(&lock);
    return OK;
}
static CUresult set_flags(CUdevice dev, unsigned int flags)
{
    NEED_INIT();
    if (dev < 0 || dev >= ndev) return INVALID_DEVICE;
    pthread_mutex_lock(&lock);
    prim[dev].flags = flags;
    pthread_mutex_unlock(&lock);
    return OK;
}
API CUresult cuDevicePrimaryCtxSetFlags(CUdevice d, unsigned int f) { return set_flags(d, f); }
API CUresult cuDevicePrimaryCtxSetFlags_v2(CUdevice d, unsigned int f) { return set_flags(d, f); }

/* Fake-only: lets a second runtime instance (a static cudart in a plugin) tell that the current
 * context is a primary one it did not retain itself, as the real runtime can. */
API int fakeCtxIsPrimary(CUcontext c) { return c && c->primary; }

/* ---- memory ---- */
static CUresult alloc_in_ctx(CUdeviceptr *p, size_t n, int host, struct fctx *c);
static CUresult alloc_in(CUdeviceptr *p, size_t n, int host) { return alloc_in_ctx(p, n, host, cur()); }
/* A stream-ordered allocation comes from the memory pool of the stream's device, whichever device
 * is current (a stream created by cuStreamCreate: its context; 0 and the special handles: the
 * current context). */
static CUresult alloc_on_stream(CUdeviceptr *p, size_t n, void *stream)
{
    struct fobj *o = stream;
    struct fctx *c = cur();
    if (o >= objs && o < objs + 1024 && o->live && o->is_event == 0)
        c = o->ctx;
    return alloc_in_ctx(p, n, 0, c);
}
static CUresult alloc_in_ctx(CUdeviceptr *p, size_t n, int host, struct fctx *c)
{
    NEED_INIT();
    if (!usable(c)) return ctx_error(c);
    if (!p || n == 0) return INVALID_VALUE;
    pthread_mutex_lock(&lock);
    struct alloc *a = NULL;
    for (int i = 0; i < 4096 && !a; i++)
        if (!allocs[i].mem) a = &allocs[i];
    if (a) {
        a->mem = NULL;
        for (int i = nfreed - 1; i >= 0 && !a->mem; i--)
            if (freed_blocks[i].n == n && freed_blocks[i].host == host) {
                a->mem = freed_blocks[i].mem;
                freed_blocks[i] = freed_blocks[--nfreed];
            }
        if (!a->mem)
            a->mem = calloc(1, n); /* untouched pages: a large fake allocation costs no memory */
        a->n = n;
        a->ctx = c;
        a->gen = c->gen;
        a->host = host;
        a->dead = 0;
        if (a->mem)
            *(host ? &host_used[c->dev] : &dev_used[c->dev]) += n;
    }
    char *mem = a ? a->mem : NULL; /* read under the lock: another thread may free and reuse the slot */
    pthread_mutex_unlock(&lock);
    if (!mem) return INVALID_VALUE;
    *p = (CUdeviceptr)(uintptr_t)mem;
    return OK;
}
API CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n) { return alloc_in(p, n, 0); }
/* CU_POINTER_ATTRIBUTE_DEVICE_ORDINAL (9) only: the device of the live allocation holding ptr. */
API CUresult cuPointerGetAttribute(void *data, int attribute, CUdeviceptr ptr)
{
    NEED_INIT();
    if (!data || attribute != 9) return INVALID_VALUE;
    CUresult r = INVALID_VALUE;
    pthread_mutex_lock(&lock);
    for (int i = 0; i < 4096; i++)
        if (allocs[i].mem && !allocs[i].dead && (char *)(uintptr_t)ptr >= allocs[i].mem &&
            (char *)(uintptr_t)ptr < allocs[i].mem + allocs[i].n) {
            *(int *)data = allocs[i].ctx->dev;
            r = OK;
            break;
        }
    pthread_mutex_unlock(&lock);
    return r;
}
API CUresult cuMemAllocManaged(CUdeviceptr *p, size_t n, unsigned int flags) { (void)flags; return alloc_in(p, n, 0); }
API CUresult cuMemAllocAsync(CUdeviceptr *p, size_t n, void *stream) { return alloc_on_stream(p, n, stream); }
API CUresult cuMemAllocFromPoolAsync(CUdeviceptr *p, size_t n, void *pool, void *stream)
{ (void)pool; return alloc_on_stream(p, n, stream); }
/* The per-thread-default-stream variants: the same here (cuGetProcAddress hands them out when asked
 * with CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM). */
API CUresult cuMemAllocAsync_ptsz(CUdeviceptr *p, size_t n, void *stream) { return alloc_on_stream(p, n, stream); }
API CUresult cuMemAllocFromPoolAsync_ptsz(CUdeviceptr *p, size_t n, void *pool, void *stream)
{ (void)pool; return alloc_on_stream(p, n, stream); }
API CUresult cuMemAllocPitch_v2(CUdeviceptr *p, size_t *pitch, size_t w, size_t h, unsigned int elem)
{
    (void)elem;
    if (!pitch) return INVALID_VALUE;
    *pitch = (w + 511) / 512 * 512;
    return alloc_in(p, *pitch * (h ? h : 1), 0);
}
API CUresult cuMemAllocHost_v2(void **p, size_t n) { return alloc_in((CUdeviceptr *)p, n, 1); }
API CUresult cuMemHostAlloc(void **p, size_t n, unsigned int flags) { (void)flags; return alloc_in((CUdeviceptr *)p, n, 1); }

/* Under lock: the context's memory, streams and events are gone (a reset, the last release, a destroy). */
static void drop_context_state(struct fctx *c)
{
    /* The memory no longer counts as in use, but its block is kept (as before this accounting
     * existed): a stale pointer must not land in a later allocation at the same address. */
    for (int i = 0; i < 4096; i++)
        if (allocs[i].mem && allocs[i].ctx == c && !allocs[i].dead) {
            *(allocs[i].host ? &host_used[c->dev] : &dev_used[c->dev]) -= allocs[i].n;
            allocs[i].dead = 1;
        }
    for (int i = 0; i < 1024; i++)
        if (objs[i].live && objs[i].ctx == c) {
            objs[i].live = 0;
            (objs[i].is_event == 2 ? arrays_live : objs[i].is_event ? events_live : streams_live)[c->dev]--;
        }
}

/* The allocation holding [p, p+n), if it is still valid: its context alive and not reset since. */
static struct alloc *find(CUdeviceptr p, size_t n)
{
    char *q = (char *)(uintptr_t)p;
    for (int i = 0; i < 4096; i++) {
        struct alloc *a = &allocs[i];
        if (a->mem && q >= a->mem && q + n <= a->mem + a->n)
            return a->ctx->gen == a->gen && usable(a->ctx) ? a : NULL;
    }
    return NULL;
}

static void *run_during(void *arg)
{
    void (**fns)(void) = arg;
    for (int i = 0; i < 4 && fns[i]; i++)
        fns[i]();
    return NULL;
}
/* At the start of every free and destroy: the functions registered for it, on a thread of their own. */
static void before_free(void)
{
    void (*fns[4])(void) = {NULL, NULL, NULL, NULL};
    pthread_mutex_lock(&lock);
    for (int i = 0; i < n_during; i++)
        fns[i] = during_next_free[i];
    n_during = 0;
    pthread_mutex_unlock(&lock);
    pthread_t t;
    if (fns[0] && pthread_create(&t, NULL, run_during, fns) == 0)
        pthread_join(t, NULL);
}
API void fakeRunDuringNextFree(void (*fn)(void))
{
    pthread_mutex_lock(&lock);
    if (n_during < 4)
        during_next_free[n_during++] = fn;
    pthread_mutex_unlock(&lock);
}
API void fakeFailNextFree(int err) { __atomic_store_n(&fail_next_free, err, __ATOMIC_RELAXED); }

static CUresult free_in(CUdeviceptr p, int host)
{
    NEED_INIT();
    before_free();
    pthread_mutex_lock(&lock);
    struct alloc *a = find(p, 0);
    if (a && a->mem == (char *)(uintptr_t)p && a->host == host) {
        *(host ? &host_used[a->ctx->dev] : &dev_used[a->ctx->dev]) -= a->n;
        if (reuse && nfreed < REUSE_MAX) {
            freed_blocks[nfreed].mem = a->mem;
            freed_blocks[nfreed].n = a->n;
            freed_blocks[nfreed++].host = host;
        } else
            free(a->mem);
        a->mem = NULL;
    } else
        a = NULL;
    pthread_mutex_unlock(&lock);
    int fail = __atomic_exchange_n(&fail_next_free, 0, __ATOMIC_RELAXED);
    return !a ? INVALID_VALUE : fail ? fail : OK;
}
API CUresult cuMemFree_v2(CUdeviceptr p) { return free_in(p, 0); }
API CUresult cuMemFreeAsync(CUdeviceptr p, void *stream) { (void)stream; return free_in(p, 0); }
API CUresult cuMemFreeAsync_ptsz(CUdeviceptr p, void *stream) { (void)stream; return free_in(p, 0); }
API CUresult cuMemFreeHost(void *p) { return free_in((CUdeviceptr)(uintptr_t)p, 1); }
API CUresult cuMemGetInfo_v2(size_t *freeb, size_t *total)
{
    NEED_INIT();
    struct fctx *c = cur();
    if (!usable(c)) return ctx_error(c);
    if (!freeb || !total) return INVALID_VALUE;
    pthread_mutex_lock(&lock);
    *total = FAKE_TOTAL_MEM;
    *freeb = FAKE_TOTAL_MEM - dev_used[c->dev];
    pthread_mutex_unlock(&lock);
    return OK;
}
/* Fake-only: everything in use on a device, for tests. */
API void fakeResourcesInUse(int dev, size_t *dmem, size_t *hmem, int *streams, int *events)
{
    pthread_mutex_lock(&lock);
    int d = dev >= 0 && dev < MAXDEV ? dev : 0;
    *dmem = dev_used[d];
    *hmem = host_used[d];
    *streams = streams_live[d];
    *events = events_live[d];
    pthread_mutex_unlock(&lock);
}

/* ---- streams and events: handles into objs[] ---- */
static CUresult obj_create(void **h, int is_event)
{
    NEED_INIT();
    struct fctx *c = cur();
    if (!usable(c)) return ctx_error(c);
    if (!h) return INVALID_VALUE;
    pthread_mutex_lock(&lock);
    struct fobj *o = NULL;
    for (int i = 0; i < 1024 && !o; i++)
        if (!objs[i].live) o = &objs[i];
    if (o) {
        o->ctx = c;
        o->gen = c->gen;
        o->is_event = is_event;
        o->live = 1;
        (is_event == 2 ? arrays_live : is_event ? events_live : streams_live)[c->dev]++;
    }
    pthread_mutex_unlock(&lock);
    if (!o) return INVALID_VALUE;
    *h = o;
    return OK;
}
static CUresult obj_destroy(void *h, int is_event)
{
    NEED_INIT();
    struct fobj *o = h;
    if (!o || o < objs || o >= objs + 1024) return INVALID_VALUE;
    before_free();
    pthread_mutex_lock(&lock);
    CUresult r = INVALID_VALUE;
    if (o->live && o->is_event == is_event && o->gen == o->ctx->gen) {
        o->live = 0;
        (is_event == 2 ? arrays_live : is_event ? events_live : streams_live)[o->ctx->dev]--;
        r = OK;
    }
    pthread_mutex_unlock(&lock);
    return r;
}
API CUresult cuStreamCreate(void **s, unsigned int flags) { (void)flags; return obj_create(s, 0); }
API CUresult cuStreamCreateWithPriority(void **s, unsigned int flags, int prio) { (void)flags; (void)prio; return obj_create(s, 0); }
API CUresult cuStreamDestroy_v2(void *s) { return obj_destroy(s, 0); }
API CUresult cuEventCreate(void **e, unsigned int flags) { (void)flags; return obj_create(e, 1); }
API CUresult cuEventDestroy_v2(void *e) { return obj_destroy(e, 1); }
/* Arrays: a handle, as a stream is (the descriptor is not looked at). */
API CUresult cuArrayCreate_v2(void **a, const void *desc) { if (!desc) return INVALID_VALUE; return obj_create(a, 2); }
API CUresult cuArrayDestroy(void *a) { return obj_destroy(a, 2); }
API CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n)
{
    NEED_INIT();
    struct fctx *c = cur();
    if (!usable(c)) return ctx_error(c);
    struct alloc *a = find(dst, n);
    if (!a) return INVALID_VALUE;
    memcpy((void *)(uintptr_t)dst, src, n);
    return OK;
}
API CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n)
{
    NEED_INIT();
    struct fctx *c = cur();
    if (!usable(c)) return ctx_error(c);
    struct alloc *a = find(src, n);
    if (!a) return INVALID_VALUE;
    memcpy(dst, (const void *)(uintptr_t)src, n);
    return OK;
}
API CUresult cuMemsetD8_v2(CUdeviceptr dst, unsigned char v, size_t n)
{
    NEED_INIT();
    struct fctx *c = cur();
    if (!usable(c)) return ctx_error(c);
    if (!find(dst, n)) return INVALID_VALUE;
    memset((void *)(uintptr_t)dst, v, n);
    return OK;
}
API CUresult cuMemcpyDtoD_v2(CUdeviceptr dst, CUdeviceptr src, size_t n)
{
    NEED_INIT();
    struct fctx *c = cur();
    if (!usable(c)) return ctx_error(c);
    if (!find(dst, n) || !find(src, n)) return INVALID_VALUE;
    memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n);
    return OK;
}
/* Unified addressing: either side may be host memory (not found among the allocations). */
API CUresult cuMemcpy(CUdeviceptr dst, CUdeviceptr src, size_t n)
{
    NEED_INIT();
    struct fctx *c = cur();
    if (!usable(c)) return ctx_error(c);
    pthread_mutex_lock(&lock);
    int stale = 0;
    for (int i = 0; i < 4096; i++) { /* a pointer into memory from before a reset is rejected */
        struct alloc *a = &allocs[i];
        for (int k = 0; k < 2; k++) {
            char *q = (char *)(uintptr_t)(k ? src : dst);
            if (a->mem && q >= a->mem && q < a->mem + a->n && !(a->ctx->gen == a->gen && usable(a->ctx)))
                stale = 1;
        }
    }
    pthread_mutex_unlock(&lock);
    if (stale) return INVALID_VALUE;
    memmove((void *)(uintptr_t)dst, (const void *)(uintptr_t)src, n);
    return OK;
}
API CUresult cuMemcpyAsync(CUdeviceptr dst, CUdeviceptr src, size_t n, void *s) { (void)s; return cuMemcpy(dst, src, n); }
API CUresult cuMemcpyHtoDAsync_v2(CUdeviceptr dst, const void *src, size_t n, void *s) { (void)s; return cuMemcpyHtoD_v2(dst, src, n); }
API CUresult cuMemcpyDtoHAsync_v2(void *dst, CUdeviceptr src, size_t n, void *s) { (void)s; return cuMemcpyDtoH_v2(dst, src, n); }
API CUresult cuMemsetD32_v2(CUdeviceptr dst, unsigned int v, size_t n)
{
    NEED_INIT();
    struct fctx *c = cur();
    if (!usable(c)) return ctx_error(c);
    if (!find(dst, n * 4)) return INVALID_VALUE;
    for (size_t i = 0; i < n; i++) memcpy((char *)(uintptr_t)dst + 4 * i, &v, 4);
    return OK;
}
/* A stream from before a reset (or destroyed) is an invalid handle; NULL is the default stream. */
API CUresult cuStreamSynchronize(void *s)
{
    NEED_INIT();
    struct fctx *c = cur();
    if (!usable(c)) return ctx_error(c);
    struct fobj *o = s;
    if (o && (o < objs || o >= objs + 1024 || !o->live || o->is_event || o->gen != o->ctx->gen)) return 400;
    return OK;
}
/* A fake kernel is a host function taking the argument array. */
API CUresult cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                            unsigned bz, unsigned shmem, void *stream, void **params, void **extra)
{
    (void)gx; (void)gy; (void)gz; (void)bx; (void)by; (void)bz; (void)shmem; (void)stream; (void)extra;
    NEED_INIT();
    struct fctx *c = cur();
    if (!usable(c)) return ctx_error(c);
    if (!f) return INVALID_VALUE;
    ((void (*)(void **))f)(params);
    return OK;
}
/* The launch configuration's first fields, as cuda.h lays out CUlaunchConfig. */
struct fake_launch_config {
    unsigned gx, gy, gz, bx, by, bz, shmem;
    void *stream;
};
API CUresult cuLaunchKernelEx(const struct fake_launch_config *cfg, void *f, void **params, void **extra)
{
    if (!cfg) return INVALID_VALUE;
    return cuLaunchKernel(f, cfg->gx, cfg->gy, cfg->gz, cfg->bx, cfg->by, cfg->bz, cfg->shmem, cfg->stream, params, extra);
}

/* A function ctxguard never wraps, for lookups that must stay plain (the benchmark's entry point). */
API CUresult cuFuncGetAttribute(int *v, int attrib, void *f) { (void)attrib; (void)f; if (!v) return INVALID_VALUE; *v = 0; return OK; }

/* ---- cuGetProcAddress: base name + version -> variant, as the real driver maps them ---- */
struct entry {
    const char *base;
    int since;
    void *fn;
};
API CUresult cuGetProcAddress(const char *, void **, int, cuuint64_t);
API CUresult cuGetProcAddress_v2(const char *, void **, int, cuuint64_t, int *);
static const struct entry table[] = {
    {"cuInit", 2000, (void *)cuInit}, {"cuDriverGetVersion", 2020, (void *)cuDriverGetVersion},
    {"cuDeviceGet", 2000, (void *)cuDeviceGet}, {"cuDeviceGetCount", 2000, (void *)cuDeviceGetCount},
    {"cuCtxCreate", 2000, (void *)cuCtxCreate}, {"cuCtxCreate", 3020, (void *)cuCtxCreate_v2},
    {"cuCtxCreate", 11040, (void *)cuCtxCreate_v3}, {"cuCtxCreate", 12050, (void *)cuCtxCreate_v4},
    {"cuCtxDestroy", 2000, (void *)cuCtxDestroy}, {"cuCtxDestroy", 4000, (void *)cuCtxDestroy_v2},
    {"cuCtxSetCurrent", 4000, (void *)cuCtxSetCurrent}, {"cuCtxGetCurrent", 4000, (void *)cuCtxGetCurrent},
    {"cuCtxGetDevice", 2000, (void *)cuCtxGetDevice},
    {"cuCtxPushCurrent", 2000, (void *)cuCtxPushCurrent}, {"cuCtxPushCurrent", 4000, (void *)cuCtxPushCurrent_v2},
    {"cuCtxPopCurrent", 2000, (void *)cuCtxPopCurrent}, {"cuCtxPopCurrent", 4000, (void *)cuCtxPopCurrent_v2},
    {"cuCtxSynchronize", 2000, (void *)cuCtxSynchronize}, {"cuCtxGetApiVersion", 3020, (void *)cuCtxGetApiVersion},
    {"cuCtxGetId", 12000, (void *)cuCtxGetId},
    {"cuDevicePrimaryCtxRetain", 7000, (void *)cuDevicePrimaryCtxRetain},
    {"cuDevicePrimaryCtxRelease", 7000, (void *)cuDevicePrimaryCtxRelease},
    {"cuDevicePrimaryCtxRelease", 11000, (void *)cuDevicePrimaryCtxRelease_v2},
    {"cuDevicePrimaryCtxReset", 7000, (void *)cuDevicePrimaryCtxReset},
    {"cuDevicePrimaryCtxReset", 11000, (void *)cuDevicePrimaryCtxReset_v2},
    {"cuDevicePrimaryCtxSetFlags", 7000, (void *)cuDevicePrimaryCtxSetFlags},
    {"cuDevicePrimaryCtxSetFlags", 11000, (void *)cuDevicePrimaryCtxSetFlags_v2},
    {"cuDevicePrimaryCtxGetState", 7000, (void *)cuDevicePrimaryCtxGetState},
    {"cuMemAlloc", 3020, (void *)cuMemAlloc_v2}, {"cuMemFree", 3020, (void *)cuMemFree_v2},
    {"cuMemAllocManaged", 6000, (void *)cuMemAllocManaged}, {"cuMemAllocPitch", 3020, (void *)cuMemAllocPitch_v2},
    {"cuMemAllocAsync", 11020, (void *)cuMemAllocAsync}, {"cuMemAllocFromPoolAsync", 11020, (void *)cuMemAllocFromPoolAsync},
    {"cuMemFreeAsync", 11020, (void *)cuMemFreeAsync}, {"cuMemAllocHost", 3020, (void *)cuMemAllocHost_v2},
    {"cuMemHostAlloc", 2020, (void *)cuMemHostAlloc}, {"cuMemFreeHost", 2000, (void *)cuMemFreeHost},
    {"cuMemGetInfo", 3020, (void *)cuMemGetInfo_v2},
    {"cuStreamCreate", 2000, (void *)cuStreamCreate}, {"cuStreamCreateWithPriority", 5050, (void *)cuStreamCreateWithPriority},
    {"cuStreamDestroy", 4000, (void *)cuStreamDestroy_v2},
    {"cuEventCreate", 2000, (void *)cuEventCreate}, {"cuEventDestroy", 4000, (void *)cuEventDestroy_v2},
    {"cuArrayCreate", 3020, (void *)cuArrayCreate_v2}, {"cuArrayDestroy", 2000, (void *)cuArrayDestroy},
    {"cuMemcpyHtoD", 3020, (void *)cuMemcpyHtoD_v2}, {"cuMemcpyDtoH", 3020, (void *)cuMemcpyDtoH_v2},
    {"cuMemsetD8", 3020, (void *)cuMemsetD8_v2}, {"cuLaunchKernel", 4000, (void *)cuLaunchKernel},
    {"cuMemcpyDtoD", 3020, (void *)cuMemcpyDtoD_v2}, {"cuMemcpy", 4000, (void *)cuMemcpy},
    {"cuMemcpyAsync", 4000, (void *)cuMemcpyAsync}, {"cuMemcpyHtoDAsync", 3020, (void *)cuMemcpyHtoDAsync_v2},
    {"cuMemcpyDtoHAsync", 3020, (void *)cuMemcpyDtoHAsync_v2}, {"cuMemsetD32", 3020, (void *)cuMemsetD32_v2},
    {"cuLaunchKernelEx", 11060, (void *)cuLaunchKernelEx}, {"cuStreamSynchronize", 2000, (void *)cuStreamSynchronize},
    {"cuFuncGetAttribute", 2020, (void *)cuFuncGetAttribute},
    {"cuGetProcAddress", 11030, (void *)cuGetProcAddress}, {"cuGetProcAddress", 12000, (void *)cuGetProcAddress_v2},
};

/* CU_GET_PROC_ADDRESS_PER_THREAD_DEFAULT_STREAM (2): these bases answer with their _ptsz variant. */
static const struct entry ptsz_table[] = {
    {"cuMemAllocAsync", 11020, (void *)cuMemAllocAsync_ptsz},
    {"cuMemAllocFromPoolAsync", 11020, (void *)cuMemAllocFromPoolAsync_ptsz},
    {"cuMemFreeAsync", 11020, (void *)cuMemFreeAsync_ptsz},
};

API CUresult cuGetProcAddress_v2(const char *sym, void **pfn, int version, cuuint64_t flags, int *status)
{
    /* works before cuInit, as the real one does */
    if (status) *status = 1;
    if (!sym || !pfn) return INVALID_VALUE;
    *pfn = NULL;
    if (version > DRIVER_VERSION) return INVALID_VALUE;
    for (size_t i = 0; (flags & 2) && i < sizeof ptsz_table / sizeof ptsz_table[0]; i++)
        if (strcmp(ptsz_table[i].base, sym) == 0 && ptsz_table[i].since <= version) {
            *pfn = ptsz_table[i].fn;
            if (status) *status = 0;
            return OK;
        }
    const struct entry *best = NULL;
    int known = 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(table[i].base, sym) != 0) continue;
        known = 1;
        if (table[i].since <= version && (!best || table[i].since > best->since)) best = &table[i];
    }
    if (!best) {
        if (status) *status = known ? 2 : 1;
        return NOT_FOUND;
    }
    *pfn = best->fn;
    if (status) *status = 0;
    return OK;
}
API CUresult cuGetProcAddress(const char *sym, void **pfn, int version, cuuint64_t flags)
{
    return cuGetProcAddress_v2(sym, pfn, version, flags, NULL);
}

/* A lookalike name: "cu" followed by a lowercase letter is not CUDA's (cuDNN's cudnnCreate once
 * crashed an interposer that matched a bare "cu" prefix). */
API int cudnnCreate(void **handle) { if (handle) *handle = NULL; return 0; }
